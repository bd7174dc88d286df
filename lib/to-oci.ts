// An upper layer written out in OCI form to a new directory: whiteouts
// become empty `.wh.NAME` files, opaque directories get `.wh..wh..opq`.
// Everything is created fresh beneath `dest` (exclusive creates, no symlink
// ever written through), and the upper is read without following symlinks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getSystemErrorName } from 'node:util';
import { OverlayError } from './errors';
import { checkBoolean, checkPath } from './validate';
import { checkKnownOptions } from './strict-options';
import { copyXattrsStep, fsStep, lstatStep, mayBeWhiteout, opaqueStep, overlayXattrPrefix, readdirStep, whiteoutStep, type MarkOptions } from './layer-steps';
import { joinRel } from './lower-lookup';
import { layerRefusal, OPAQUE_MARKER, WHITEOUT_PREFIX } from './oci-names';
import { runAsync, runSync, step, type Walk } from './sync-or-async';

export interface ToOciOptions {
  /** Read user.overlay.* marks instead of trusted.overlay.*. */
  userxattr?: boolean;
}

/** An entry of the upper that was not written, or one of its xattrs, and why. */
export interface SkippedEntry {
  path: string;
  reason: string;
  /** Set when the entry was written but this extended attribute of it was not: the destination refused it. */
  xattr?: string;
}

export interface ToOciResult {
  /**
   * Device files (other than whiteouts), fifos and sockets, which Node cannot
   * make; and each xattr the destination refused (ENOTSUP, or EPERM), with `xattr` set.
   */
  skipped: SkippedEntry[];
}

const EEXIST = 17;
const ENOTEMPTY = 39;

interface Request {
  upper: string;
  dest: string;
  marks: MarkOptions;
  skipped: SkippedEntry[];
}

function* writeEmpty(file: string): Walk<void> {
  yield* step(fsStep(() => fs.writeFileSync(file, '', { flag: 'wx', mode: 0o644 }), () => fs.promises.writeFile(file, '', { flag: 'wx', mode: 0o644 })));
}

// All but the overlay's own marks; the ones `dest` refuses are listed, never dropped unsaid.
function* copyXattrs(req: Request, rel: string): Walk<void> {
  const refused = yield* step(copyXattrsStep(path.join(req.upper, rel), path.join(req.dest, rel), overlayXattrPrefix(req.marks)));
  for (const [name, errno] of refused) {
    req.skipped.push({ path: '/' + rel, xattr: name, reason: `xattr '${name}' not kept: the destination refused it (${getSystemErrorName(-errno)})` });
  }
}

// Owner, then mode (chown clears set-id bits), then xattrs (chown clears
// security.capability), then times: the last write to the entry.
function* copyMetadata(req: Request, rel: string, st: fs.Stats): Walk<void> {
  const file = path.join(req.dest, rel);
  if (st.isSymbolicLink()) {
    yield* step(fsStep(() => fs.lchownSync(file, st.uid, st.gid), () => fs.promises.lchown(file, st.uid, st.gid)));
    yield* copyXattrs(req, rel);
    yield* step(fsStep(() => fs.lutimesSync(file, st.atime, st.mtime), () => fs.promises.lutimes(file, st.atime, st.mtime)));
    return;
  }
  yield* step(fsStep(() => fs.chownSync(file, st.uid, st.gid), () => fs.promises.chown(file, st.uid, st.gid)));
  yield* step(fsStep(() => fs.chmodSync(file, st.mode & 0o7777), () => fs.promises.chmod(file, st.mode & 0o7777)));
  yield* copyXattrs(req, rel);
  yield* step(fsStep(() => fs.utimesSync(file, st.atime, st.mtime), () => fs.promises.utimes(file, st.atime, st.mtime)));
}

function* copyEntry(req: Request, child: string, st: fs.Stats): Walk<void> {
  const from = path.join(req.upper, child);
  const to = path.join(req.dest, child);
  if (st.isDirectory()) {
    yield* step(fsStep(() => fs.mkdirSync(to, { mode: 0o700 }), () => fs.promises.mkdir(to, { mode: 0o700 })));
    yield* copyDir(req, child);
  } else if (st.isFile()) {
    const excl = fs.constants.COPYFILE_EXCL;
    yield* step(fsStep(() => fs.copyFileSync(from, to, excl), () => fs.promises.copyFile(from, to, excl)));
  } else if (st.isSymbolicLink()) {
    const target = yield* step(fsStep(() => fs.readlinkSync(from), () => fs.promises.readlink(from)));
    yield* step(fsStep(() => fs.symlinkSync(target, to), () => fs.promises.symlink(target, to)));
  } else {
    req.skipped.push({ path: '/' + child, reason: 'a device, fifo or socket: Node cannot create one' });
    return;
  }
  yield* copyMetadata(req, child, st);
}

function* copyDir(req: Request, rel: string): Walk<void> {
  if ((yield* step(opaqueStep(rel === '' ? '.' : rel, req.marks))) === 'y') yield* writeEmpty(path.join(req.dest, rel, OPAQUE_MARKER));
  for (const name of yield* step(readdirStep(path.join(req.upper, rel)))) {
    const child = joinRel(rel, name);
    if (name.startsWith(WHITEOUT_PREFIX)) throw layerRefusal(child, `'${name}' starts with '${WHITEOUT_PREFIX}', which OCI reserves for whiteouts`);
    const st = yield* step(lstatStep(path.join(req.upper, child)));
    if (st === undefined) continue;
    if (mayBeWhiteout(st) && (yield* step(whiteoutStep(child, req.marks)))) {
      yield* writeEmpty(path.join(req.dest, rel, WHITEOUT_PREFIX + name));
      continue;
    }
    yield* copyEntry(req, child, st);
  }
}

function* exportWalk(upperArg: string, destArg: string, options: ToOciOptions | undefined): Walk<ToOciResult> {
  const o = checkKnownOptions(options, ['userxattr']);
  const upper = path.resolve(checkPath('upper', upperArg));
  const dest = path.resolve(checkPath('dest', destArg));
  const top = yield* step(lstatStep(upper));
  if (!top?.isDirectory()) throw layerRefusal('', `upper '${upper}' is not a directory`);
  const there = yield* step(lstatStep(dest));
  if (there === undefined) {
    yield* step(fsStep(() => fs.mkdirSync(dest, { mode: 0o700 }), () => fs.promises.mkdir(dest, { mode: 0o700 })));
  } else if (!there.isDirectory()) {
    throw new OverlayError({ errno: EEXIST, field: 'dest', path: dest, reason: `'${dest}' exists and is not an empty directory` });
  } else if ((yield* step(readdirStep(dest))).length > 0) {
    throw new OverlayError({ errno: ENOTEMPTY, field: 'dest', path: dest, reason: `'${dest}' is not empty` });
  }
  const req: Request = { upper, dest, marks: { root: upper, userxattr: checkBoolean('userxattr', o.userxattr) }, skipped: [] };
  yield* copyDir(req, '');
  yield* copyMetadata(req, '', top);
  return { skipped: req.skipped };
}

/**
 * Writes the OCI form of `upper` to `dest`, which must not exist or be an
 * empty directory. Contents, symlinks, modes, owners, times and extended
 * attributes are kept, but the overlay's own (`trusted.overlay.*`, or
 * `user.overlay.*` with `userxattr`); hard links are not (see README).
 * An xattr `dest` refuses (ENOTSUP, or EPERM for a namespace closed to the
 * caller) is listed in `skipped` with `xattr` set; any other failure rejects.
 */
export async function toOci(upper: string, dest: string, options?: ToOciOptions): Promise<ToOciResult> {
  return runAsync(exportWalk(upper, dest, options));
}

/** Synchronous twin of {@link toOci}. */
export function toOciSync(upper: string, dest: string, options?: ToOciOptions): ToOciResult {
  return runSync(exportWalk(upper, dest, options));
}
