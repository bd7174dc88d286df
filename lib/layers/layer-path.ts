// Where a whiteout or opaque call acts: a path beneath an optional root. The
// addon resolves it without leaving the root; the checks here only give the
// friendly error first.
import path from 'node:path';
import { invalid } from '../core/errors';
import type { NativeEntryRequest, Resolver } from '../core/native';
import { checkBoolean, checkChoice, checkKnownKeys, checkOptionsObject, checkPath, typeError } from '../core/args';

export type { Resolver } from '../core/native';

export interface LayerPathOptions {
  /**
   * Take the path beneath this directory (the layer): resolution never leaves
   * it and follows no symlink in any component. Without it the path is used
   * as given, following symlinks except in its last component.
   */
  root?: string;
  /** Use user.overlay.* xattrs instead of trusted.overlay.*, as the `userxattr` mount option does. */
  userxattr?: boolean;
  /** Force one way of resolving beneath root instead of the best available. */
  resolver?: Resolver;
}

const EXDEV = 18;
const RESOLVERS: readonly string[] = ['openat2', 'walk'];

/** The keys of LayerPathOptions. */
const LAYER_PATH_KEYS = ['root', 'userxattr', 'resolver'] as const;

/**
 * A path beneath root, returned relative to it: relative already, or absolute
 * and inside root. A '..' component is refused even where it would stay inside.
 */
export function checkBeneath(field: string, value: unknown, root: string): string {
  if (typeof value !== 'string') throw typeError(field, 'a path string', value);
  if (value === '') throw invalid(field, 'must not be empty');
  if (value.includes('\0')) throw invalid(field, 'must not contain a NUL byte', undefined, value);
  if (value.split('/').includes('..')) throw invalid(field, `'${value}' has a '..' component, which could leave root`, EXDEV, value);
  if (!path.isAbsolute(value)) return value;
  const relative = path.relative(root, value);
  if (relative === '..' || relative.startsWith('../') || path.isAbsolute(relative)) {
    throw invalid(field, `'${value}' is not inside root '${root}'`, EXDEV, value);
  }
  return relative === '' ? '.' : relative;
}

/**
 * {@link checkBeneath} for each of `values`, the field named `field[i]`. A
 * plain name (no '/', not '.' or '..', no NUL) is beneath root as it stands
 * and is taken without the field's name made: a batch of thousands is mostly such names.
 */
export function checkAllBeneath(field: string, values: readonly unknown[], root: string): string[] {
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const plain = typeof v === 'string' && v !== '' && v !== '.' && v !== '..' && !v.includes('/') && !v.includes('\0');
    out[i] = plain ? v : checkBeneath(`${field}[${i}]`, v, root);
  }
  return out;
}

/**
 * The root, resolver and xattr namespace every layer call shares. `call` and
 * `ownKeys` (the call's options beyond LayerPathOptions) name what a key the
 * call does not know is refused for.
 */
export function toLayerBase(options: LayerPathOptions | undefined, call: string, ownKeys: readonly string[] = []): Omit<NativeEntryRequest, 'path'> {
  const o = checkOptionsObject('options', options) as Record<string, unknown>;
  checkKnownKeys(o, new Set([...LAYER_PATH_KEYS, ...ownKeys]), call);
  const base: Omit<NativeEntryRequest, 'path'> = { userxattr: checkBoolean('userxattr', o.userxattr) };
  if (o.root !== undefined) base.root = checkPath('root', o.root);
  const resolver = checkChoice<Resolver>('resolver', o.resolver, RESOLVERS);
  if (resolver !== undefined) base.resolver = resolver;
  return base;
}

/** Validates one path and its options into the addon's request; `field` names the path argument. */
export function toEntryRequest(field: string, value: unknown, options: LayerPathOptions | undefined, call: string, ownKeys: readonly string[] = []): NativeEntryRequest {
  const base = toLayerBase(options, call, ownKeys);
  const entryPath = base.root === undefined ? checkPath(field, value) : checkBeneath(field, value, base.root);
  return { ...base, path: entryPath };
}
