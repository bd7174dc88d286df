// The one owner of an image store's layout (docs/oci-store.md):
//   blobs/sha256/<hex>   manifests, image configs and committed layer tars, by the digest of their bytes
//   layers/<hex>/        each layer unpacked in overlay form, by its diff id
//   tar-split/<hex>      how to make an unpacked layer's tar again (tar-split.ts), by its diff id
//   refs/<ref>           a reference (URI-encoded) -> "sha256:<manifest hex>"
//   tmp/<pid>-<random>/  one unpack's, commit's or save's work in progress
// Everything enters by rename from tmp/, so a blob, a layer or a ref is in
// the store whole or not at all; a dead unpack's tmp/ entry is removed by
// the next one to open the store.
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { OverlayError } from '../core/errors';
import { fsStep, runSync, step, type Walk } from '../core/sync-or-async';

const ENOENT = 2;
const EINVAL = 22;

export const HEX = /^[0-9a-f]{64}$/;

export interface StorePaths {
  root: string;
  blobs: string;
  layers: string;
  tarSplit: string;
  refs: string;
  tmp: string;
}

export function storePaths(root: string): StorePaths {
  return { root, blobs: `${root}/blobs/sha256`, layers: `${root}/layers`, tarSplit: `${root}/tar-split`, refs: `${root}/refs`, tmp: `${root}/tmp` };
}

export const layerPath = (s: StorePaths, diffId: string) => `${s.layers}/${diffId}`;
export const tarSplitPath = (s: StorePaths, diffId: string) => `${s.tarSplit}/${diffId}`;
export const blobPath = (s: StorePaths, hex: string) => `${s.blobs}/${hex}`;
export const refPath = (s: StorePaths, ref: string) => `${s.refs}/${encodeURIComponent(ref)}`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Opens the store for writing (made if missing) and returns a fresh work
 * directory in tmp/; the work of unpacks no longer running goes first.
 */
export function openForWrite(s: StorePaths): string {
  for (const dir of [s.root, s.blobs, s.layers, s.tarSplit, s.refs, s.tmp]) fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const name of fs.readdirSync(s.tmp)) {
    const pid = Number(name.split('-')[0]);
    if (!(pid > 0) || !pidAlive(pid)) fs.rmSync(`${s.tmp}/${name}`, { recursive: true, force: true });
  }
  const work = `${s.tmp}/${process.pid}-${randomBytes(6).toString('hex')}`;
  fs.mkdirSync(work, { mode: 0o700 });
  return work;
}

/** Puts `from` (a file or a directory in tmp/) at `to` whole, unless something is there already. */
export function moveIn(from: string, to: string): boolean {
  if (fs.existsSync(to)) return false;
  try {
    fs.renameSync(from, to);
    return true;
  } catch (err) {
    // Another unpack put the same content there first.
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
    throw err;
  }
}

/** Writes a small file into the store by way of tmp/: whole or not at all. */
export function writeWhole(work: string, to: string, bytes: Buffer | string, replace: boolean): void {
  const temp = `${work}/.write-${randomBytes(6).toString('hex')}`;
  fs.writeFileSync(temp, bytes, { mode: 0o644 });
  if (replace) fs.renameSync(temp, to);
  else if (!moveIn(temp, to)) fs.rmSync(temp);
}

function readStep(file: string): ReturnType<typeof fsStep<Buffer>> {
  return fsStep(
    () => fs.readFileSync(file),
    () => fs.promises.readFile(file),
  );
}

function missing(field: string, what: string, path: string): OverlayError {
  return new OverlayError({ errno: ENOENT, field, path, reason: what });
}

function* readJson(file: string, field: string, what: string): Walk<Record<string, unknown>> {
  let bytes: Buffer;
  try {
    bytes = yield* step(readStep(file));
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw missing(field, what, file);
    throw err;
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new OverlayError({ errno: EINVAL, field, path: file, reason: `'${file}' is not JSON: the store is damaged` });
  }
}

function digestHex(field: string, digest: unknown, where: string): string {
  const hex = typeof digest === 'string' && digest.startsWith('sha256:') ? digest.slice(7) : '';
  if (!HEX.test(hex)) throw new OverlayError({ errno: EINVAL, field, reason: `${where} holds '${String(digest)}', which is not a sha256 digest` });
  return hex;
}

/** One image of the store: its manifest and config, read and checked. */
export interface StoredImage {
  manifestHex: string;
  manifest: Record<string, unknown>;
  configHex: string;
  config: Record<string, unknown>;
  /** rootfs.diff_ids as hex, bottom layer first. */
  diffIds: string[];
}

function* manifestOf(s: StorePaths, ref: string, field: string): Walk<string> {
  if (ref.startsWith('sha256:') && HEX.test(ref.slice(7))) return ref.slice(7);
  let text: Buffer;
  try {
    text = yield* step(readStep(refPath(s, ref)));
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw missing(field, `the store '${s.root}' holds no image '${ref}'`, s.root);
    throw err;
  }
  return digestHex(field, text.toString('utf8').trim(), `ref '${ref}'`);
}

/** Image `ref` of STORE: a reference stored, or 'sha256:<manifest hex>'. */
export function* readImage(root: string, ref: string, field: string): Walk<StoredImage> {
  const s = storePaths(root);
  const manifestHex = yield* manifestOf(s, ref, field);
  const manifest = yield* readJson(blobPath(s, manifestHex), field, `the store '${root}' holds no manifest sha256:${manifestHex}`);
  const configHex = digestHex(field, (manifest.config as { digest?: unknown } | undefined)?.digest, `manifest sha256:${manifestHex}`);
  const config = yield* readJson(blobPath(s, configHex), field, `the store '${root}' holds no image config sha256:${configHex}`);
  const diffIds = (config.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
  if (!Array.isArray(diffIds)) throw new OverlayError({ errno: EINVAL, field, reason: `image config sha256:${configHex} has no rootfs.diff_ids` });
  return { manifestHex, manifest, configHex, config, diffIds: diffIds.map((d) => digestHex(field, d, `image config sha256:${configHex}`)) };
}

/**
 * The layer directories of image `ref` in STORE, bottom layer first. `ref`
 * is a reference unpack stored, or 'sha256:<manifest hex>'.
 */
export function* imageLayerDirs(root: string, ref: string, field: string): Walk<string[]> {
  const s = storePaths(root);
  const image = yield* readImage(root, ref, field);
  const dirs = image.diffIds.map((hex) => layerPath(s, hex));
  for (const dir of dirs) {
    const st = yield* step(fsStep(() => fs.statSync(dir, { throwIfNoEntry: false }), () => fs.promises.stat(dir).catch(() => undefined)));
    if (!st?.isDirectory()) throw missing(field, `the store '${root}' lacks layer '${dir}' of image '${ref}': unpack the image again`, dir);
  }
  return dirs;
}

/** The diff id (hex) of a layer directory of the store at `root`, or undefined for a directory that is not one. */
export function storeLayerOf(root: string, dir: string): string | undefined {
  const layers = fs.realpathSync(storePaths(root).layers);
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    return undefined;
  }
  const hex = real.slice(layers.length + 1);
  return real.startsWith(`${layers}/`) && HEX.test(hex) ? hex : undefined;
}

/** A stored image (by its references) whose layers are exactly `diffIds`, bottom first; undefined when none is. */
export function findImageByLayers(root: string, diffIds: string[], field: string): StoredImage | undefined {
  const s = storePaths(root);
  for (const name of fs.readdirSync(s.refs).sort()) {
    let image: StoredImage;
    try {
      image = runSync(readImage(root, decodeURIComponent(name), field));
    } catch {
      continue;
    }
    if (image.diffIds.length === diffIds.length && image.diffIds.every((d, i) => d === diffIds[i])) return image;
  }
  return undefined;
}

/** The tar-split record of layer `diffId` when the store holds one. */
export function storedTarSplit(root: string, diffId: string): string | undefined {
  const file = tarSplitPath(storePaths(root), diffId);
  return fs.existsSync(file) ? file : undefined;
}

/** The path of blob `hex` when the store holds it. */
export function storedBlob(root: string, hex: string): string | undefined {
  const file = blobPath(storePaths(root), hex);
  return fs.existsSync(file) ? file : undefined;
}

/** What a commit puts into the store, each part made in the work directory first. */
export interface NewImage {
  /** Layer directories in overlay form: [work dir, diff id hex]. */
  layers: [string, string][];
  /** Layer blobs: [work file, digest hex]. */
  blobs: [string, string][];
  config: Buffer;
  manifest: Buffer;
  ref: string;
}

/**
 * Moves a new image into the store in the order that keeps it whole at every
 * step (layers, then blobs, then config and manifest, then the ref): a crash
 * leaves at most unreferenced layers and blobs, which the next run finds
 * there and keeps. Returns the manifest's hex digest.
 */
export function putImage(s: StorePaths, work: string, image: NewImage): string {
  for (const [dir, hex] of image.layers) moveIn(dir, layerPath(s, hex));
  for (const [file, hex] of image.blobs) moveIn(file, blobPath(s, hex));
  const configHex = sha256Hex(image.config);
  const manifestHex = sha256Hex(image.manifest);
  writeWhole(work, blobPath(s, configHex), image.config, false);
  writeWhole(work, blobPath(s, manifestHex), image.manifest, false);
  writeWhole(work, refPath(s, image.ref), `sha256:${manifestHex}\n`, true);
  return manifestHex;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
