// What changes(), changesIterator() and their Sync twins share: the types,
// the checked request, and the native walk read a batch at a time
// (native/layers/changes/layer_changes_walk.h). A batch crosses as one Buffer of NUL-ended
// paths and one string of kinds, so a crossing costs the same for 1 or 4,096
// changes; the walk holds no more than a batch, save behind a directory
// still undecided (see the doc of changesIterator).
import fs from 'node:fs';
import { checkBoolean, checkOptions } from '../core/args';
import { OverlayError } from '../core/errors';
import { checkLowerDirs, checkMarksReadable } from './layer-checks';
import { checkPathLike, displayPath, unpackNames, type PathLike } from './layer-names';
import { native, type NativeChangesWalk } from '../core/native';

const EINVAL = 22;

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

/** Changes per crossing: large enough that a crossing's cost vanishes, small enough to hold at once. */
export const CHANGES_BATCH = 4096;

export interface ChangesRequest {
  upper: PathLike;
  lowers: PathLike[];
  userxattr: boolean;
}

export function toChangesRequest(upper: PathLike, options: ChangesOptions | undefined, call: string): ChangesRequest {
  const o = checkOptions(options, ['lower', 'userxattr'], call);
  const lower = o.lower ?? [];
  if (!Array.isArray(lower)) throw Object.assign(new TypeError('lower must be an array of paths'), { code: 'ERR_INVALID_ARG_TYPE', field: 'lower' });
  const req = {
    upper: checkPathLike('upper', upper),
    lowers: lower.map((l: unknown, i) => checkPathLike(`lower[${i}]`, l)),
    userxattr: checkBoolean('userxattr', o.userxattr),
  };
  checkLowerDirs(req.lowers);
  checkNotUpper(req.upper, req.lowers);
  checkMarksReadable(req.userxattr);
  return req;
}

// The upper given again as a lower would report every entry of it as changed
// ('C'), which is false: compared by device and inode, so no spelling hides it.
function checkNotUpper(upper: PathLike, lowers: readonly PathLike[]): void {
  let top: fs.Stats;
  try {
    top = fs.statSync(upper);
  } catch {
    return; // a missing upper is the walk's to report
  }
  lowers.forEach((lower, i) => {
    const st = fs.statSync(lower);
    if (st.dev === top.dev && st.ino === top.ino) {
      throw new OverlayError({ errno: EINVAL, path: displayPath(lower), field: `lower[${i}]`, reason: `'${displayPath(lower)}' is the upper itself: a layer compared with itself has no changes to list` });
    }
  });
}

/** A walk made; it opens nothing until its first batch. */
export function openWalk(r: ChangesRequest): NativeChangesWalk {
  return native.layerChangesOpen(r.upper, r.lowers, r.userxattr);
}

/** One batch as LayerChange objects, appended to `out`. */
export function unpackBatch(paths: Buffer, kinds: string, out: LayerChange[]): LayerChange[] {
  const names = unpackNames(paths);
  for (let i = 0; i < names.length; i++) out.push({ path: names[i] as string | Buffer, kind: kinds[i] as ChangeKind });
  return out;
}
