// Whiteouts made inside a layer, as the kernel reads them: a char device 0/0,
// or (kind 'xattr') a zero-size file carrying overlay.whiteout.
import { OverlayError } from './errors';
import { checkBeneath, toEntryRequest, toLayerBase, type LayerPathOptions } from './layer-path';
import { checkKnownOptions } from './strict-options';
import { checkBoolean, checkChoice } from './validate';
import { native, type NativeWhiteoutRequest, type NativeWhiteoutsRequest, type WhiteoutKind } from './native';
import { checkPath } from './validate';

export type { WhiteoutKind } from './native';

export interface WhiteoutOptions extends LayerPathOptions {
  /** Replace whatever is at the path (not a non-empty directory), atomically: made under a temporary name, then renamed over it. */
  force?: boolean;
  /** 'chardev' (default): a char device 0/0. 'xattr': a zero-size file with overlay.whiteout, its directory marked opaque 'x' (6.7+, honoured in lower layers). */
  kind?: WhiteoutKind;
}

export type WhiteoutsOptions = Omit<WhiteoutOptions, 'root'>;

/** The error {@link whiteouts} rejects with: `index` is the position in `paths` that failed; nothing of the batch stays made. */
export interface WhiteoutsError extends OverlayError {
  index: number;
}

const KINDS: readonly string[] = ['chardev', 'xattr'];
const ENTRY_KEYS = ['root', 'userxattr', 'resolver'];
const WHITEOUT_KEYS = [...ENTRY_KEYS, 'force', 'kind'];
const WHITEOUTS_KEYS = WHITEOUT_KEYS.filter((k) => k !== 'root');

function toSpec(options: WhiteoutOptions | undefined): Pick<NativeWhiteoutRequest, 'kind' | 'force'> {
  const o = checkKnownOptions(options, WHITEOUT_KEYS);
  return { kind: checkChoice<WhiteoutKind>('kind', o.kind, KINDS) ?? 'chardev', force: checkBoolean('force', o.force) };
}

function toWhiteoutRequest(path: string, options: WhiteoutOptions | undefined): NativeWhiteoutRequest {
  checkKnownOptions(options, WHITEOUT_KEYS);
  return { ...toEntryRequest('path', path, options), ...toSpec(options) };
}

function toWhiteoutsRequest(root: string, paths: readonly string[], options: WhiteoutsOptions | undefined): NativeWhiteoutsRequest {
  const checkedRoot = checkPath('root', root);
  if (!Array.isArray(paths)) throw Object.assign(new TypeError('paths must be an array of path strings'), { code: 'ERR_INVALID_ARG_TYPE', field: 'paths' });
  checkKnownOptions(options, WHITEOUTS_KEYS);
  const base = toLayerBase({ ...options, root: checkedRoot });
  const checked = paths.map((p: unknown, i) => checkBeneath(`paths[${i}]`, p, checkedRoot));
  return { ...base, root: checkedRoot, paths: checked, ...toSpec(options) };
}

// The addon names the failing entry as field `paths[k]`; k becomes `index`.
function withIndex(err: unknown): unknown {
  const match = err instanceof OverlayError || err instanceof TypeError ? /^paths\[(\d+)\]$/.exec((err as { field?: string }).field ?? '') : null;
  if (match) Object.defineProperty(err, 'index', { value: Number(match[1]), enumerable: true });
  return err;
}

/**
 * Creates a whiteout at `path`. Something already there: EEXIST, untouched,
 * unless `force`. The directory holding it must exist.
 */
export async function whiteout(path: string, options?: WhiteoutOptions): Promise<void> {
  await native.whiteout(toWhiteoutRequest(path, options));
}

/** Synchronous twin of {@link whiteout}. */
export function whiteoutSync(path: string, options?: WhiteoutOptions): void {
  native.whiteoutSync(toWhiteoutRequest(path, options));
}

/**
 * Creates many whiteouts beneath `root` in one native call, all or nothing.
 * Every path is resolved and its name checked before any is made; then they
 * are made in order, and a failure undoes those already made (an entry
 * replaced with `force` comes back: a hard link to it is kept until the batch
 * is done) and rejects with a {@link WhiteoutsError}, `index` the position in
 * `paths` that failed. What could not be undone is listed in `detail`.
 */
export async function whiteouts(root: string, paths: readonly string[], options?: WhiteoutsOptions): Promise<void> {
  try {
    await native.whiteouts(toWhiteoutsRequest(root, paths, options));
  } catch (err) {
    throw withIndex(err);
  }
}

/** Synchronous twin of {@link whiteouts}. */
export function whiteoutsSync(root: string, paths: readonly string[], options?: WhiteoutsOptions): void {
  try {
    native.whiteoutsSync(toWhiteoutsRequest(root, paths, options));
  } catch (err) {
    throw withIndex(err);
  }
}

/**
 * Which kind of whiteout is at `path` ('chardev' or 'xattr'), or false:
 * also when nothing is there (ENOENT/ENOTDIR on the way). A symlink at the
 * path is not followed (false); one on the way beneath root throws ELOOP.
 */
export async function isWhiteout(path: string, options?: LayerPathOptions): Promise<WhiteoutKind | false> {
  return native.isWhiteout(toEntryRequest('path', path, checkKnownOptions(options, ENTRY_KEYS) as LayerPathOptions));
}

/** Synchronous twin of {@link isWhiteout}. */
export function isWhiteoutSync(path: string, options?: LayerPathOptions): WhiteoutKind | false {
  return native.isWhiteoutSync(toEntryRequest('path', path, checkKnownOptions(options, ENTRY_KEYS) as LayerPathOptions));
}
