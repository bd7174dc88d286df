// seal(source, { store, image }) / sealSync: a tree made into a sealed layer,
// the form composefs keeps: each regular file's content put into the store
// under its fs-verity digest (native/seal/store_object.h), and an EROFS image
// of the tree's metadata whose files point at their objects, written by the
// addon (native/seal/erofs_writer.h). The image is first written in a
// temporary directory beside IMAGE, so IMAGE appears whole by one rename or
// not at all, and the temporary goes whether the seal succeeds or fails. While it may have
// temporaries a seal holds shared locks on the store and IMAGE's directory;
// one that finds no other seal there first removes a killed seal's
// (native/seal/seal_temps.h).
import fs from 'node:fs';
import path from 'node:path';
import { checkOptions, checkPath } from '../core/args';
import { OverlayError } from '../core/errors';
import { native } from '../core/native';
import { fsStep, runAsync, runSync, step, type Step, type Walk } from '../core/sync-or-async';

export interface SealOptions {
  /** The object store: a directory that exists; objects are added as `xx/<62 hex>`. */
  store: string;
  /** The image file to write (its directory must exist); replaced whole if there. */
  image: string;
}

export interface SealResult {
  image: string;
  store: string;
  /** The image's own fs-verity digest, `sha256:<64 hex>`: what `{ sealed, digest }` checks. */
  digest: string;
  /** Regular non-empty files sealed (each refers to one object). */
  files: number;
  /** Objects this seal added to the store (the others were there already). */
  added: number;
  /** Their bytes. */
  addedBytes: number;
}

interface SealRequest {
  source: string;
  store: string;
  image: string;
}

/** Why the temporary directory beside `image` could not be made, said of `image`. */
function imageDirError(image: string, err: unknown): OverlayError {
  const e = err as NodeJS.ErrnoException;
  const dir = path.dirname(image);
  const why = e.code === 'ENOENT' ? 'does not exist' : e.code === 'ENOTDIR' ? 'is not a directory' : undefined;
  if (why) return new OverlayError({ errno: -(e.errno ?? 0), path: dir, field: 'image', reason: `its directory '${dir}' ${why}` });
  return new OverlayError({ errno: -(e.errno ?? -5), syscall: 'mkdtemp', path: dir, field: 'image' });
}

/** The finished image made durable, then moved onto IMAGE and its directory made durable. */
function publishImage(temp: string, image: string): Step<void> {
  const dir = path.dirname(image);
  return fsStep(
    () => {
      const fd = fs.openSync(temp, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temp, image);
      const dirFd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
    },
    async () => {
      const file = await fs.promises.open(temp, 'r');
      await file.sync().finally(() => file.close());
      await fs.promises.rename(temp, image);
      const dirFile = await fs.promises.open(dir, 'r');
      await dirFile.sync().finally(() => dirFile.close());
    },
  );
}

function removeTree(dir: string): Step<void> {
  return fsStep(() => fs.rmSync(dir, { recursive: true, force: true }), () => fs.promises.rm(dir, { recursive: true, force: true }));
}

function closeFds(fds: number[]): Step<void> {
  const open = fds.filter((fd) => fd >= 0);
  return fsStep(
    () => open.forEach((fd) => fs.closeSync(fd)),
    async () => {
      for (const fd of open) await new Promise<void>((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
    },
  );
}

function* sealWalk(r: SealRequest): Walk<SealResult> {
  const dir = path.dirname(r.image);
  const [storeFd, dirFd, stale] = yield* step({ sync: () => native.enterSealTempsSync(r.store, dir), async: () => native.enterSealTemps(r.store, dir) });
  try {
    for (const name of stale) yield* step(removeTree(path.join(dir, name)));
    return yield* sealLockedWalk(r);
  } finally {
    yield* step(closeFds([storeFd, dirFd]));
  }
}

function* sealLockedWalk(r: SealRequest): Walk<SealResult> {
  const prefix = path.join(path.dirname(r.image), '.seal-');
  let temp: string;
  try {
    temp = yield* step(fsStep(() => fs.mkdtempSync(prefix), () => fs.promises.mkdtemp(prefix)));
  } catch (err) {
    throw imageDirError(r.image, err);
  }
  try {
    const packed = path.join(temp, 'image');
    const [files, added, addedBytes] = yield* step({ sync: () => native.sealImageSync(r.source, r.store, packed), async: () => native.sealImage(r.source, r.store, packed) });
    const hex = yield* step({ sync: () => native.fsverityDigestSync(packed), async: () => native.fsverityDigest(packed) });
    yield* step(publishImage(packed, r.image));
    return { image: r.image, store: r.store, digest: `sha256:${hex}`, files, added, addedBytes };
  } finally {
    yield* step(removeTree(temp));
  }
}

function checked(source: unknown, options: SealOptions | undefined): SealRequest {
  const o = checkOptions(options, ['store', 'image'], 'seal');
  return { source: checkPath('source', source), store: checkPath('store', o.store), image: checkPath('image', o.image) };
}

/** Seals `source` into `options.image` over `options.store`; the walk, the hashing and the image run off the event loop. */
export async function seal(source: string, options: SealOptions): Promise<SealResult> {
  return runAsync(sealWalk(checked(source, options)));
}

/** Synchronous twin of {@link seal}. */
export function sealSync(source: string, options: SealOptions): SealResult {
  return runSync(sealWalk(checked(source, options)));
}
