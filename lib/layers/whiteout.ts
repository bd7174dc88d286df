// Whiteouts made inside a layer, as the kernel reads them: a char device 0/0,
// or (kind 'xattr') a zero-size file carrying overlay.whiteout.
import { invalid, OverlayError } from '../core/errors';
import { checkArray, checkBoolean, checkChoice, checkOptionsObject, checkPath } from '../core/args';
import { checkAllBeneath, toEntryRequest, toLayerBase, type LayerPathOptions } from './layer-path';
import { native, type NativeWhiteoutRequest, type NativeWhiteoutsRequest, type WhiteoutKind } from '../core/native';

export type { WhiteoutKind } from '../core/native';

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
const WHITEOUT_KEYS = ['force', 'kind'];

function toSpec(options: WhiteoutOptions | undefined): Pick<NativeWhiteoutRequest, 'kind' | 'force'> {
  const o = checkOptionsObject('options', options);
  return { kind: checkChoice<WhiteoutKind>('kind', o.kind, KINDS) ?? 'chardev', force: checkBoolean('force', o.force) };
}

function toWhiteoutRequest(path: string, options: WhiteoutOptions | undefined): NativeWhiteoutRequest {
  return { ...toEntryRequest('path', path, options, 'whiteout()', WHITEOUT_KEYS), ...toSpec(options) };
}

function toWhiteoutsRequest(root: string, paths: readonly string[], options: WhiteoutsOptions | undefined): NativeWhiteoutsRequest {
  const checkedRoot = checkPath('root', root);
  const items = checkArray('paths', paths, 'an array of path strings');
  const o = checkOptionsObject('options', options);
  if ('root' in o) throw checkRootApart();
  const base = toLayerBase({ ...o, root: checkedRoot }, 'whiteouts()', WHITEOUT_KEYS);
  const checked = checkAllBeneath('paths', items, checkedRoot);
  return { ...base, root: checkedRoot, paths: checked, ...toSpec(options) };
}

function checkRootApart(): Error {
  return invalid('root', 'whiteouts() takes the root as its first argument, not as an option');
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
  return native.isWhiteout(toEntryRequest('path', path, options, 'isWhiteout()'));
}

/** Synchronous twin of {@link isWhiteout}. */
export function isWhiteoutSync(path: string, options?: LayerPathOptions): WhiteoutKind | false {
  return native.isWhiteoutSync(toEntryRequest('path', path, options, 'isWhiteoutSync()'));
}
