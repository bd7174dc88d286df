// An unpacked OCI layer, converted in place to overlay form: `.wh.NAME`
// becomes a whiteout NAME, `.wh..wh..opq` an opaque mark on its directory.
// All or nothing: the tree is read and checked first (from-oci-plan.ts), then
// changed in three stages (whiteouts, opaque marks, markers removed); a
// failure at any stage undoes the stages before it, so the layer is left as
// it was. Every whiteout and mark is made beneath the layer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OverlayError } from './errors';
import { faultPoint } from './fault-points';
import { planConversion, type ConversionPlan, type Marker } from './from-oci-plan';
import { fileTimes, fsStep, lstatBigStep, lstatStep, opaqueStep, setTimesStep, type FileTimes } from './layer-steps';
import type { OpaqueValue, WhiteoutKind } from './native';
import { layerRefusal } from './oci-names';
import { clearOpaque, clearOpaqueSync, setOpaque, setOpaqueSync } from './opaque';
import { runAsync, runSync, step, type Walk } from './sync-or-async';
import { checkBoolean, checkChoice, checkOptions, checkPath } from './args';
import { whiteouts, whiteoutsSync } from './whiteout';

export interface FromOciOptions {
  /** The whiteouts to make: 'chardev' (default) or 'xattr' (for a layer mounted as a lower, 6.7+). */
  kind?: WhiteoutKind;
  /** Write user.overlay.* marks instead of trusted.overlay.*. */
  userxattr?: boolean;
}

/** The error fromOci rejects with when part of an undo failed too: what could not be put back. */
export interface FromOciError extends Error {
  notUndone?: string[];
}

interface Conversion {
  root: string;
  kind: WhiteoutKind;
  marks: { root: string; userxattr: boolean };
  plan: ConversionPlan;
  /** Opaque values as they were, for every directory a stage marked. */
  opaqueBefore: Map<string, OpaqueValue | false>;
  madeWhiteouts: boolean;
  removed: Array<{ marker: Marker; content: Buffer | string; times: FileTimes }>;
}

const parentOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '.');

// A directory the conversion writes in must be writable (a read-only mount, an
// immutable directory): found now, nothing has changed yet.
function* checkWritable(c: Conversion): Walk<void> {
  for (const rel of c.plan.written) {
    const dir = path.join(c.root, rel);
    try {
      yield* step(fsStep(() => fs.accessSync(dir, fs.constants.W_OK), () => fs.promises.access(dir, fs.constants.W_OK)));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new OverlayError({ errno: -(e.errno ?? -13), syscall: 'access', path: dir, field: rel === '.' ? '/' : '/' + rel });
    }
  }
}

// Xattr whiteouts mark their directory opaque 'x'; what each was before is kept to undo it.
function* recordOpaque(c: Conversion, dirs: Iterable<string>): Walk<void> {
  for (const rel of dirs) {
    if (c.opaqueBefore.has(rel)) continue;
    const value = yield* step(opaqueStep(rel, c.marks));
    c.opaqueBefore.set(rel, value);
  }
}

function* makeWhiteouts(c: Conversion): Walk<void> {
  if (c.plan.whiteouts.length === 0) return;
  if (c.kind === 'xattr') {
    yield* recordOpaque(c, c.plan.whiteouts.map(parentOf));
    for (const [rel, value] of c.opaqueBefore) {
      if (value === 'y') throw layerRefusal(rel, `'${rel}' is already opaque ('y'): an xattr whiteout in it would be listed as an empty file`);
    }
  }
  const opts = { kind: c.kind, userxattr: c.marks.userxattr };
  // One all-or-nothing batch: it undoes itself on failure.
  yield* step(fsStep(() => whiteoutsSync(c.root, c.plan.whiteouts, opts), () => whiteouts(c.root, c.plan.whiteouts, opts)));
  c.madeWhiteouts = true;
}

function* markOpaque(c: Conversion): Walk<void> {
  yield* recordOpaque(c, c.plan.opaque);
  for (const rel of c.plan.opaque) {
    // Made opaque 'y' it would lose its 'x' (xattr whiteouts of its own), which no undo could put back.
    if (c.opaqueBefore.get(rel) === 'x') throw layerRefusal(rel === '.' ? '' : rel, `'${rel}' is already marked opaque 'x' (it holds xattr whiteouts): an OCI opaque marker cannot be added to it`);
  }
  for (const rel of c.plan.opaque) {
    faultPoint('fromOci:opaque');
    if (c.opaqueBefore.get(rel) !== 'y') yield* step(fsStep(() => setOpaqueSync(rel, c.marks), () => setOpaque(rel, c.marks)));
  }
}

function* removeMarkers(c: Conversion): Walk<void> {
  for (const marker of c.plan.markers) {
    const file = path.join(c.root, marker.rel);
    // Times first: reading the content may move atime.
    const times = fileTimes(yield* step(lstatBigStep(file)));
    const content = marker.st.isSymbolicLink()
      ? yield* step(fsStep(() => fs.readlinkSync(file), () => fs.promises.readlink(file)))
      : yield* step(fsStep(() => fs.readFileSync(file), () => fs.promises.readFile(file)));
    faultPoint('fromOci:unlink');
    yield* step(fsStep(() => fs.unlinkSync(file), () => fs.promises.unlink(file)));
    c.removed.push({ marker, content, times });
  }
}

// A marker put back as it was: content (or link target), owner, mode and times.
function* restoreMarker(c: Conversion, marker: Marker, content: Buffer | string, times: FileTimes): Walk<void> {
  const file = path.join(c.root, marker.rel);
  const st = marker.st;
  if (typeof content === 'string') {
    yield* step(fsStep(() => fs.symlinkSync(content, file), () => fs.promises.symlink(content, file)));
    yield* step(fsStep(() => fs.lchownSync(file, st.uid, st.gid), () => fs.promises.lchown(file, st.uid, st.gid)));
    yield* step(setTimesStep(file, times));
    return;
  }
  yield* step(fsStep(() => fs.writeFileSync(file, content, { flag: 'wx' }), () => fs.promises.writeFile(file, content, { flag: 'wx' })));
  yield* step(fsStep(() => fs.chownSync(file, st.uid, st.gid), () => fs.promises.chown(file, st.uid, st.gid)));
  yield* step(fsStep(() => fs.chmodSync(file, st.mode & 0o7777), () => fs.promises.chmod(file, st.mode & 0o7777)));
  yield* step(setTimesStep(file, times));
}

// Only two states are ever put back: none (the mark made is removed) and 'y'
// (left as it was); a directory marked 'x' is refused before anything changes.
function* restoreOpaque(c: Conversion, rel: string, before: OpaqueValue | false): Walk<void> {
  const now = yield* step(opaqueStep(rel, c.marks));
  if (now === before || before !== false) return;
  yield* step(fsStep(() => clearOpaqueSync(rel, c.marks), () => clearOpaque(rel, c.marks)));
}

// Each undo step is tried whatever the others do; what fails is named on the error.
function* undo(c: Conversion, err: unknown): Walk<never> {
  const notUndone: string[] = [];
  const attempt = function* (what: string, action: Walk<void>): Walk<void> {
    try {
      yield* action;
    } catch (e) {
      notUndone.push(`${what}: ${(e as Error).message}`);
    }
  };
  for (const { marker, content, times } of c.removed.reverse()) yield* attempt(`marker /${marker.rel}`, restoreMarker(c, marker, content, times));
  if (c.madeWhiteouts) {
    for (const rel of [...c.plan.whiteouts].reverse()) {
      const file = path.join(c.root, rel);
      yield* attempt(`whiteout /${rel}`, (function* () {
        yield* step(fsStep(() => fs.unlinkSync(file), () => fs.promises.unlink(file)));
      })());
    }
  }
  for (const [rel, before] of c.opaqueBefore) yield* attempt(`opaque mark of /${rel === '.' ? '' : rel}`, restoreOpaque(c, rel, before));
  if (notUndone.length > 0 && err instanceof Error) Object.defineProperty(err, 'notUndone', { value: notUndone, enumerable: true });
  throw err;
}

function* convertWalk(root: string, options: FromOciOptions | undefined): Walk<void> {
  const o = checkOptions(options, ['kind', 'userxattr'], 'fromOci()');
  const userxattr = checkBoolean('userxattr', o.userxattr);
  const kind = checkChoice<WhiteoutKind>('kind', o.kind, ['chardev', 'xattr']) ?? 'chardev';
  const top = yield* step(lstatStep(root));
  if (!top?.isDirectory()) throw layerRefusal('', `'${root}' is not a directory`);
  const plan = yield* planConversion(root);
  const c: Conversion = { root, kind, marks: { root, userxattr }, plan, opaqueBefore: new Map(), madeWhiteouts: false, removed: [] };
  yield* checkWritable(c);
  try {
    yield* makeWhiteouts(c);
    yield* markOpaque(c);
    yield* removeMarkers(c);
  } catch (err) {
    yield* undo(c, err);
  }
}

/**
 * Converts the unpacked OCI layer `dir` in place to overlay form, all or
 * nothing. The whole tree is checked before anything changes; a name it
 * cannot convert (aufs `.wh..wh.*` metadata, a marker that is a directory, a
 * device or a fifo) is refused, naming it. A failure later undoes what was
 * done; what could not be undone is listed in the error's `notUndone`.
 */
export async function fromOci(dir: string, options?: FromOciOptions): Promise<void> {
  await runAsync(convertWalk(path.resolve(checkPath('dir', dir)), options));
}

/** Synchronous twin of {@link fromOci}. */
export function fromOciSync(dir: string, options?: FromOciOptions): void {
  runSync(convertWalk(path.resolve(checkPath('dir', dir)), options));
}
