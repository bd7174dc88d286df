// An upper layer written out in OCI form to a new directory: whiteouts
// become empty `.wh.NAME` files, opaque directories get `.wh..wh..opq`. The
// tree is written natively (native/convert/layer_export_entry.cc), fd-relative, exclusive
// creates only; this module checks where it goes and makes it all or nothing,
// also across a crash (its temporaries: native/convert/oci_temps.h).
import fs from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { OverlayError } from '../core/errors';
import { checkBoolean, checkChoice, checkOptions } from '../core/args';
import { checkMarksReadable } from '../layers/layer-checks';
import { checkPathLike, decodeName, displayPath, type PathLike } from '../layers/layer-names';
import { native } from '../core/native';
import { baseOf, canonicalPath, joinPath, parentOf } from '../layers/path-bytes';
import { fsStep, runAsync, runSync, step, type Step, type Walk } from '../core/sync-or-async';

/** What toOci does with what the caller's privileges cannot keep (see ToOciOptions.unprivileged). */
export type UnprivilegedExport = 'refuse' | 'report';

export interface ToOciOptions {
  /** Read user.overlay.* marks instead of trusted.overlay.*. */
  userxattr?: boolean;
  /**
   * What the caller's privileges cannot keep (an owner other than its own
   * without CAP_CHOWN, a device node without CAP_MKNOD, file capabilities
   * without CAP_SETFCAP), found before anything is written: 'refuse'
   * (default) rejects naming the first such entry; 'report' exports anyway,
   * listing each owner or device node not kept in `skipped`.
   */
  unprivileged?: UnprivilegedExport;
}

/** An entry of the upper that was not written, or not with all it has (an xattr, its owner), and why. */
export interface SkippedEntry {
  /** As `changes()` gives paths: a string, or a Buffer of the bytes of a path that is not UTF-8. */
  path: string | Buffer;
  reason: string;
  /** Set when the entry was written but this extended attribute of it was not: the destination refused it. */
  xattr?: string;
}

export interface ToOciResult {
  /**
   * Sockets, which OCI layers (tar) cannot hold; and each xattr the
   * destination refused (ENOTSUP, or EPERM), with `xattr` set.
   */
  skipped: SkippedEntry[];
}

const ENOENT = 2;
const ENOTDIR = 20;
const EACCES = 13;
const EEXIST = 17;
const EINVAL = 22;
const ENOTEMPTY = 39;
/**
 * A new DEST is built as `.NAME.ovl-oci-XXXXXX` beside it, an empty one in
 * `.ovl-oci-XXXXXX` inside it (native/convert/oci_temps.h): the directory holding
 * them is entered first, which removes what a killed convert left there.
 */
const TEMP_INFIX = '.ovl-oci-';
const TEMP_NAME = /^(\..*)?\.ovl-oci-[A-Za-z0-9]{6}(\.moved)?$/;

interface Request {
  upper: PathLike;
  dest: PathLike;
  userxattr: boolean;
  lossy: boolean;
  skipped: SkippedEntry[];
}

// Paths are strings, or Buffers for bytes that are not UTF-8: each step below takes either.
function lstatStep(file: PathLike): Step<fs.Stats | undefined> {
  const missing = (err: unknown) => {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  };
  return fsStep(
    () => {
      try {
        return fs.lstatSync(file);
      } catch (err) {
        return missing(err);
      }
    },
    () => fs.promises.lstat(file).catch(missing),
  );
}

function readdirStep(dir: PathLike): Step<Buffer[]> {
  return fsStep(
    () => fs.readdirSync(dir, { encoding: 'buffer' }),
    () => fs.promises.readdir(dir, { encoding: 'buffer' }),
  );
}

function collectSkips(req: Request, skips: Awaited<ReturnType<typeof native.exportLayer>>): void {
  for (const [bytes, xattr, errno, reason] of skips) {
    const p = decodeName(bytes);
    req.skipped.push(xattr ? xattrSkip(p, xattr, errno) : { path: p, reason });
  }
}

// The dest root's own metadata (after its entries were moved in), natively as
// every entry's: owner, then mode (chown clears set-id bits), then xattrs, then times.
function* copyRootMetadata(req: Request, dest: PathLike): Walk<void> {
  const skips = yield* step(fsStep(() => native.exportLayerRootSync(req.upper, dest, req.userxattr, req.lossy), () => native.exportLayerRoot(req.upper, dest, req.userxattr, req.lossy)));
  collectSkips(req, skips);
}

function xattrSkip(p: string | Buffer, name: string, errno: number): SkippedEntry {
  return { path: p, xattr: name, reason: `xattr '${name}' not kept: the destination refused it (${getSystemErrorName(-errno)})` };
}

// The whole tree, natively (native/convert/layer_export_entry.cc), into the empty directory `into`.
function* exportTree(req: Request, into: PathLike): Walk<void> {
  const skips = yield* step(fsStep(() => native.exportLayerSync(req.upper, into, req.userxattr, req.lossy), () => native.exportLayer(req.upper, into, req.userxattr, req.lossy)));
  collectSkips(req, skips);
}

interface Identity {
  dev: number;
  ino: number;
}

const same = (a: Identity, b: Identity) => a.dev === b.dev && a.ino === b.ino;

function statStep(file: PathLike): Step<fs.Stats> {
  return fsStep(() => fs.statSync(file), () => fs.promises.stat(file));
}

// Whether `target` is `dir` itself or lies beneath it: `dir`'s identity looked
// for among `from` and its parents, climbed by '..' as the kernel resolves it
// (after symlinks and across mounts), so no spelling of the paths can hide it.
function* isAtOrBeneath(from: PathLike, dir: Identity): Walk<boolean> {
  let at = from;
  let here = yield* step(statStep(at));
  for (;;) {
    if (same(here, dir)) return true;
    const up = joinPath(at, '..');
    const parent = yield* step(statStep(up));
    if (same(parent, here)) return false;
    at = up;
    here = parent;
  }
}

// Where dest is, checked before anything is written: the copy must not land
// in its own source, nor its source in it. Whether an existing dest is empty
// is checked once its temporaries are cleaned (checkEmpty).
function* checkDest(upperPath: PathLike, top: Identity, destPath: PathLike): Walk<fs.Stats | undefined> {
  const [upper, dest] = [displayPath(upperPath), displayPath(destPath)];
  const there = yield* step(lstatStep(destPath));
  const parent = parentOf(destPath);
  const parentSt = yield* step(lstatStep(parent));
  if (parentSt === undefined) throw new OverlayError({ errno: ENOENT, field: 'dest', path: dest, reason: `the directory '${displayPath(parent)}' that would hold '${dest}' does not exist` });
  if (yield* isAtOrBeneath(there?.isDirectory() ? destPath : parent, top)) {
    const where = there !== undefined && same(there, top) ? 'is the source itself' : `lies inside the source '${upper}'`;
    throw new OverlayError({ errno: EINVAL, field: 'dest', path: dest, reason: `dest '${dest}' ${where}: the copy would copy itself` });
  }
  if (there !== undefined && !there.isDirectory()) {
    throw new OverlayError({ errno: EEXIST, field: 'dest', path: dest, reason: `'${dest}' exists and is not an empty directory` });
  }
  if (there === undefined) return undefined;
  if (yield* isAtOrBeneath(upperPath, there)) {
    throw new OverlayError({ errno: EINVAL, field: 'dest', path: dest, reason: `dest '${dest}' holds the source '${upper}': dest must be empty, and not a parent of what it copies` });
  }
  return there;
}

// An existing dest must be empty once a dead convert's temporaries are gone;
// one still there belongs to a convert holding its lock, and is named as such.
function* checkEmpty(destPath: PathLike): Walk<void> {
  const dest = displayPath(destPath);
  const names = yield* step(readdirStep(destPath));
  if (names.length === 0) return;
  const temp = names.find((n) => TEMP_NAME.test(n.toString('latin1')));
  const reason = temp
    ? `'${dest}' holds '${decodeName(temp).toString()}', a temporary of another convert into it that is still running (it holds its lock)`
    : `'${dest}' is not empty`;
  throw new OverlayError({ errno: ENOTEMPTY, field: 'dest', path: dest, reason });
}

// The directory the temporaries go in entered (native/convert/oci_temps.h): its
// leftovers of dead converts removed, then a shared lock held until `close`.
function* enterTempDir(dir: PathLike): Walk<number> {
  return yield* step(fsStep(() => native.enterTempDirSync(dir), () => native.enterTempDir(dir)));
}

function* closeFd(fd: number): Walk<void> {
  if (fd < 0) return;
  yield* step(fsStep(() => fs.closeSync(fd), () => new Promise<void>((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())))));
}

function* makeTempDir(prefix: PathLike): Walk<PathLike> {
  if (typeof prefix === 'string') return yield* step(fsStep(() => fs.mkdtempSync(prefix), () => fs.promises.mkdtemp(prefix)));
  const opts = { encoding: 'buffer' } as const;
  return yield* step(fsStep(() => fs.mkdtempSync(prefix as unknown as string, opts), () => fs.promises.mkdtemp(prefix as unknown as string, opts)));
}

function* removeTree(dir: PathLike): Walk<void> {
  const opts = { recursive: true, force: true };
  yield* step(fsStep(() => fs.rmSync(dir, opts), () => fs.promises.rm(dir, opts)));
}

function* rename(from: PathLike, to: PathLike): Walk<void> {
  yield* step(fsStep(() => fs.renameSync(from, to), () => fs.promises.rename(from, to)));
}

// dest is new: the tree is built beside it and renamed into place whole.
function* exportBeside(req: Request, dest: PathLike): Walk<void> {
  const base = baseOf(dest);
  const name = typeof base === 'string' ? `.${base}${TEMP_INFIX}` : Buffer.concat([Buffer.from('.'), base, Buffer.from(TEMP_INFIX)]);
  const prefix = joinPath(parentOf(dest), name);
  req.dest = yield* makeTempDir(prefix);
  try {
    yield* exportTree(req, req.dest);
    // Into a free name; a dest made meanwhile refuses (EEXIST, ENOTEMPTY) unless it is empty.
    yield* rename(req.dest, dest);
  } catch (err) {
    yield* removeTree(req.dest);
    throw err;
  }
}

// dest is an empty directory (perhaps a mount point, so it stays): the tree
// is built in a temporary directory inside it and its entries moved up
// natively, each listed first in a journal beside it; dest's own metadata
// set, the journal goes. Until then a failure, or the next run after a crash,
// removes what the journal lists (native/convert/oci_temps.h).
function* exportInside(req: Request, dest: PathLike, was: fs.Stats): Walk<void> {
  const temp = yield* makeTempDir(joinPath(dest, TEMP_INFIX));
  const name = baseOf(temp);
  req.dest = temp;
  try {
    yield* exportTree(req, temp);
    yield* step(fsStep(() => native.moveOciExportUpSync(dest, name), () => native.moveOciExportUp(dest, name)));
    req.dest = dest;
    yield* copyRootMetadata(req, dest);
    const journal = joinPath(dest, typeof name === 'string' ? `${name}.moved` : Buffer.concat([name, Buffer.from('.moved')]));
    yield* step(fsStep(() => fs.unlinkSync(journal), () => fs.promises.unlink(journal)));
  } catch (err) {
    yield* step(fsStep(() => native.removeOciTempSync(dest, name), () => native.removeOciTemp(dest, name)));
    // dest's own owner and mode as they were, should the root's metadata have been half applied.
    yield* step(fsStep(() => fs.chownSync(dest, was.uid, was.gid), () => fs.promises.chown(dest, was.uid, was.gid)));
    yield* step(fsStep(() => fs.chmodSync(dest, was.mode & 0o7777), () => fs.promises.chmod(dest, was.mode & 0o7777)));
    throw err;
  }
}

// Before anything is written: what the caller's privileges cannot keep is
// refused ('refuse'), and what it cannot read at all in either mode.
function* checkKeepable(upper: PathLike, userxattr: boolean, mode: UnprivilegedExport): Walk<void> {
  const unreadableOnly = mode === 'report';
  const found = yield* step(fsStep(() => native.findUnkeepableSync(upper, userxattr, unreadableOnly), () => native.findUnkeepable(upper, userxattr, unreadableOnly)));
  if (found === undefined) return;
  const [bytes, reason, errno] = found;
  const rel = escapeBytesForMessage(bytes);
  const hint = errno === EACCES ? '' : ` (unprivileged: 'report' exports without it and lists it in skipped)`;
  throw new OverlayError({ errno, field: rel, path: displayPath(joinPath(upper, bytes.subarray(1))), reason: `'${rel}' cannot be exported as it is: ${reason}; nothing was written${hint}` });
}

// A path from the addon for a message or a field: its bytes, escaped where they are not UTF-8.
function escapeBytesForMessage(bytes: Buffer): string {
  const name = decodeName(bytes);
  if (typeof name === 'string') return name;
  return [...name].map((b) => (b > 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : '\\' + b.toString(8).padStart(3, '0'))).join('');
}

function* exportWalk(upperArg: PathLike, destArg: PathLike, options: ToOciOptions | undefined): Walk<ToOciResult> {
  const o = checkOptions(options, ['userxattr', 'unprivileged'], 'toOci()');
  const upper = canonicalPath(checkPathLike('upper', upperArg));
  const dest = canonicalPath(checkPathLike('dest', destArg));
  const userxattr = checkBoolean('userxattr', o.userxattr);
  const unprivileged = checkChoice<UnprivilegedExport>('unprivileged', o.unprivileged, ['refuse', 'report']) ?? 'refuse';
  checkMarksReadable(userxattr);
  const top = yield* step(lstatStep(upper));
  if (top === undefined) throw new OverlayError({ errno: ENOENT, field: 'upper', path: displayPath(upper), reason: `'${displayPath(upper)}' does not exist` });
  if (!top.isDirectory()) throw new OverlayError({ errno: ENOTDIR, field: 'upper', path: displayPath(upper), reason: `'${displayPath(upper)}' is not a directory` });
  const there = yield* checkDest(upper, top, dest);
  const lock = yield* enterTempDir(there ? dest : parentOf(dest));
  try {
    if (there) yield* checkEmpty(dest);
    yield* checkKeepable(upper, userxattr, unprivileged);
    const req: Request = { upper, dest, userxattr, lossy: unprivileged === 'report', skipped: [] };
    if (there) yield* exportInside(req, dest, there);
    else yield* exportBeside(req, dest);
    return { skipped: req.skipped };
  } finally {
    yield* closeFd(lock);
  }
}

/**
 * Writes the OCI form of `upper` to `dest`, which must not exist or be an
 * empty directory, nor be `upper` or lie inside it (nor `upper` inside it):
 * compared by device and inode up the parents, before anything is written.
 * The tree is built in a temporary sibling of a new `dest` and renamed into
 * place (in a temporary directory inside an empty `dest`, its entries moved
 * up at the end), so on failure there is no `dest`, or the empty one given;
 * what a killed run left there the next one removes (native/convert/oci_temps.h). Contents, symlinks, modes, owners, times and extended
 * attributes are kept, but the overlay's own (`trusted.overlay.*`, or
 * `user.overlay.*` with `userxattr`), and so are hard links (one inode in
 * `dest`), device nodes and fifos; a socket, which a layer cannot hold, is
 * listed in `skipped`.
 * An xattr `dest` refuses (ENOTSUP, or EPERM for a namespace closed to the
 * caller) is listed in `skipped` with `xattr` set; any other failure rejects.
 */
export async function toOci(upper: PathLike, dest: PathLike, options?: ToOciOptions): Promise<ToOciResult> {
  return runAsync(exportWalk(upper, dest, options));
}

/** Synchronous twin of {@link toOci}. */
export function toOciSync(upper: PathLike, dest: PathLike, options?: ToOciOptions): ToOciResult {
  return runSync(exportWalk(upper, dest, options));
}
