// The one owner of an image store's layout (docs/oci-store.md):
//   blobs/sha256/<hex>   manifests and image configs, by the digest of their bytes
//   layers/<hex>/        each layer unpacked in overlay form, by its diff id
//   refs/<ref>           a reference (URI-encoded) -> "sha256:<manifest hex>"
//   tmp/<pid>-<random>/  one unpack's work in progress
// Everything enters by rename from tmp/, so a blob, a layer or a ref is in
// the store whole or not at all; a dead unpack's tmp/ entry is removed by
// the next one to open the store.
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { OverlayError } from '../core/errors';
import { fsStep, step, type Walk } from '../core/sync-or-async';

const ENOENT = 2;
const EINVAL = 22;

export const HEX = /^[0-9a-f]{64}$/;

export interface StorePaths {
  root: string;
  blobs: string;
  layers: string;
  refs: string;
  tmp: string;
}

export function storePaths(root: string): StorePaths {
  return { root, blobs: `${root}/blobs/sha256`, layers: `${root}/layers`, refs: `${root}/refs`, tmp: `${root}/tmp` };
}

export const layerPath = (s: StorePaths, diffId: string) => `${s.layers}/${diffId}`;
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
  for (const dir of [s.root, s.blobs, s.layers, s.refs, s.tmp]) fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
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

/**
 * The layer directories of image `ref` in STORE, bottom layer first. `ref`
 * is a reference unpack stored, or 'sha256:<manifest hex>'.
 */
export function* imageLayerDirs(root: string, ref: string, field: string): Walk<string[]> {
  const s = storePaths(root);
  let manifestHex: string;
  if (ref.startsWith('sha256:') && HEX.test(ref.slice(7))) manifestHex = ref.slice(7);
  else {
    let text: Buffer;
    try {
      text = yield* step(readStep(refPath(s, ref)));
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') throw missing(field, `the store '${root}' holds no image '${ref}'`, root);
      throw err;
    }
    manifestHex = digestHex(field, text.toString('utf8').trim(), `ref '${ref}'`);
  }
  const manifest = yield* readJson(blobPath(s, manifestHex), field, `the store '${root}' holds no manifest sha256:${manifestHex}`);
  const config = manifest.config as { digest?: unknown } | undefined;
  const configHex = digestHex(field, config?.digest, `manifest sha256:${manifestHex}`);
  const image = yield* readJson(blobPath(s, configHex), field, `the store '${root}' holds no image config sha256:${configHex}`);
  const diffIds = (image.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
  if (!Array.isArray(diffIds)) throw new OverlayError({ errno: EINVAL, field, reason: `image config sha256:${configHex} has no rootfs.diff_ids` });
  const dirs = diffIds.map((d) => layerPath(s, digestHex(field, d, `image config sha256:${configHex}`)));
  for (const dir of dirs) {
    const st = yield* step(fsStep(() => fs.statSync(dir, { throwIfNoEntry: false }), () => fs.promises.stat(dir).catch(() => undefined)));
    if (!st?.isDirectory()) throw missing(field, `the store '${root}' lacks layer '${dir}' of image '${ref}': unpack the image again`, dir);
  }
  return dirs;
}
