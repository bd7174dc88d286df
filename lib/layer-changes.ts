// What an upper layer changed against its lowers, as `docker diff` and
// `podman diff` list it: A added, C changed, D deleted. The walk is native
// (native/layer_changes.cc): one call for the whole tree, fd-relative, in a
// worker for the Promise form, the same function for the Sync twin.
import { checkBoolean, checkOptions } from './args';
import { checkLowerDirs, checkMarksReadable } from './layer-checks';
import { checkPathLike, unpackNames, type PathLike } from './layer-names';
import { native } from './native';

export type ChangeKind = 'A' | 'C' | 'D';

export interface LayerChange {
  /**
   * Relative to the layer, with a leading '/': `/etc/motd`. A string when the
   * path is valid UTF-8; otherwise a Buffer of its exact bytes, which every
   * fs call takes as a path (joined to the layer with Buffer.concat).
   */
  path: string | Buffer;
  kind: ChangeKind;
}

export interface ChangesOptions {
  /** The lower layers the upper was made over, the top first; none: everything not a whiteout is A. */
  lower?: readonly PathLike[];
  /** Read user.overlay.* marks instead of trusted.overlay.*. */
  userxattr?: boolean;
}

interface Request {
  upper: PathLike;
  lowers: PathLike[];
  userxattr: boolean;
}

function toRequest(upper: PathLike, options: ChangesOptions | undefined): Request {
  const o = checkOptions(options, ['lower', 'userxattr'], 'changes()');
  const lower = o.lower ?? [];
  if (!Array.isArray(lower)) throw Object.assign(new TypeError('lower must be an array of paths'), { code: 'ERR_INVALID_ARG_TYPE', field: 'lower' });
  const req = {
    upper: checkPathLike('upper', upper),
    lowers: lower.map((l: unknown, i) => checkPathLike(`lower[${i}]`, l)),
    userxattr: checkBoolean('userxattr', o.userxattr),
  };
  checkLowerDirs(req.lowers);
  checkMarksReadable(req.userxattr);
  return req;
}

function unpack([paths, kinds]: [Buffer, string]): LayerChange[] {
  const names = unpackNames(paths);
  return names.map((p, i) => ({ path: p, kind: kinds[i] as ChangeKind }));
}

/**
 * Lists what `upper` changed over `lower`, sorted by path (by bytes).
 * Whiteouts (either kind) are D; an entry the lowers show is C, else A; a
 * directory both show is listed only when its own mode, size or mtime
 * differ, or something beneath it was added or deleted. Symlinks are never
 * followed on the way, in the upper or the lowers.
 */
export async function changes(upper: PathLike, options?: ChangesOptions): Promise<LayerChange[]> {
  const r = toRequest(upper, options);
  return unpack(await native.layerChanges(r.upper, r.lowers, r.userxattr));
}

/** Synchronous twin of {@link changes}. */
export function changesSync(upper: PathLike, options?: ChangesOptions): LayerChange[] {
  const r = toRequest(upper, options);
  return unpack(native.layerChangesSync(r.upper, r.lowers, r.userxattr));
}
