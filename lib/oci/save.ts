// save(): an image of the store written out as an archive `podman load` and
// `docker load` take under its name. oci-archive: an OCI layout (oci-layout,
// blobs/sha256, index.json naming the image by the
// `org.opencontainers.image.ref.name` annotation, in full, as podman reads
// it); docker-archive: uncompressed layer tars, the config, and
// manifest.json with RepoTags. A layer whose blob the store holds (a commit
// made it) goes out as it is (decompressed for a docker-archive); a layer
// unpack stored is made again byte for byte from its tar-split record and
// its files (its diff id checked), so the image keeps its config; only a
// layer with neither is written again from its directory, in OCI form, which
// gives it a new diff id, so the archive then carries a new config and
// manifest. Written to a temporary beside OUT and renamed into place, or to
// a stream.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { checkChoice, checkOptions, checkPath, typeError } from '../core/args';
import { invalid, OverlayError } from '../core/errors';
import { fsStep, runAsync, runSync, step, type Step, type Walk } from '../core/sync-or-async';
import { checkImageRef } from './image-ref';
import { LayerBlobFile, makeLayerBlob } from './layer-blob';
import { blobPath, HEX, layerPath, openForWrite, readImage, sha256Hex, storedBlob, storedTarSplit, storePaths } from './store';
import { reassembleTar } from './tar-split';
import { TAR_END, tarHeader, tarPadding } from './tar-writer';
import { decompressor, type LayerCompression } from './compression/codecs';
import { checkProgress, ProgressCount, type OciProgressCallback } from './progress';

const ENOENT = 2;
const EIO = 5;
const CHUNK = 1024 * 1024;

export type SaveFormat = 'oci-archive' | 'docker-archive';

export interface SaveOptions {
  /** 'oci-archive' or 'docker-archive'. */
  format: SaveFormat;
  /** Called as the archive is written: its bytes written and layers written so far. */
  progress?: OciProgressCallback;
}

export interface SaveResult {
  ref: string;
  format: SaveFormat;
  /** 'sha256:<hex>' of the image config written (a new one when a layer was written again). */
  config: string;
  /** Bytes written. */
  size: number;
  /**
   * The diff ids of layers written again from their directories, each now
   * under a new diff id (so `config` is a new config): layers the store
   * keeps neither a blob nor a tar-split record of. Empty when the archive
   * holds the image's own layers.
   */
  rewritten: string[];
}

interface SaveRequest {
  store: string;
  ref: string;
  format: SaveFormat;
  count: ProgressCount;
}

// One file of the archive: bytes in memory, or a file on disk.
type ArchiveFile = { name: string; bytes: Buffer } | { name: string; file: string };

// Where the archive's bytes go, one step per slice.
type ByteSink = (bytes: Buffer) => Step<void>;

function checkRequest(store: unknown, ref: unknown, options: SaveOptions | undefined, call: string): SaveRequest {
  const o = checkOptions(options, ['format', 'progress'], call);
  const count = new ProgressCount(checkProgress(o.progress));
  const format = checkChoice<SaveFormat>('format', o.format, ['oci-archive', 'docker-archive']);
  if (format === undefined) throw invalid('format', "is missing: 'oci-archive' or 'docker-archive'");
  const root = checkPath('store', store);
  if (!fs.existsSync(storePaths(root).refs)) throw new OverlayError({ errno: ENOENT, field: 'store', path: root, reason: `'${root}' is not an image store (it has no refs/): unpack or commit into it first` });
  return { store: root, ref: checkImageRef('ref', ref, true), format, count };
}

function hexOf(digest: unknown): string | undefined {
  const hex = typeof digest === 'string' && digest.startsWith('sha256:') ? digest.slice(7) : '';
  return HEX.test(hex) ? hex : undefined;
}

// A compressed blob made an uncompressed tar (a docker-archive's layer); returns its sha256 hex.
function* decompressTo(from: string, to: string, compression: LayerCompression): Walk<string> {
  const hash = createHash('sha256');
  const input = fs.openSync(from, 'r');
  const output = fs.openSync(to, 'wx', 0o644);
  const codec = decompressor(compression)!;
  const write = (b: Buffer) => {
    hash.update(b);
    fs.writeSync(output, b);
  };
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = yield* step(fsStep(() => fs.readSync(input, buf), () => new Promise<number>((res, rej) => fs.read(input, buf, 0, buf.length, null, (e, k) => (e ? rej(e) : res(k))))));
      if (n === 0) break;
      codec.write(buf.subarray(0, n), write);
    }
    codec.end(write);
  } finally {
    fs.closeSync(input);
    fs.closeSync(output);
  }
  return hash.digest('hex');
}

interface SavedLayer {
  file: string;
  digest: string;
  size: number;
  diffId: string;
  mediaType: string;
}

// A layer made again from its tar-split record, compressed as its manifest had it (a docker-archive's plain);
// its tar must hash to its diff id, else nothing of it is used.
function* reassembled(req: SaveRequest, record: string, diffId: string, compression: LayerCompression, file: string): Walk<SavedLayer> {
  const blob = new LayerBlobFile(file, req.format === 'docker-archive' ? 'none' : compression);
  let made;
  try {
    yield* reassembleTar(record, layerPath(storePaths(req.store), diffId), diffId, (bytes) => blob.tar(bytes));
    made = blob.finish();
  } finally {
    blob.close();
  }
  if (made.diffId !== diffId) {
    throw new OverlayError({ errno: EIO, field: 'store', path: record, reason: `layer sha256:${diffId} made again from its tar-split record '${record}' hashes to sha256:${made.diffId}: the store is damaged` });
  }
  return { file, digest: made.digest, size: made.size, diffId, mediaType: made.mediaType };
}

// Each layer of the image as the format wants it: the stored blob, inflated, made again from its tar-split record,
// or, with neither, written again from its directory (a new diff id: listed in `rewritten`).
function* layersFor(req: SaveRequest, work: string, manifestLayers: unknown[], diffIds: string[], rewritten: string[]): Walk<SavedLayer[]> {
  const s = storePaths(req.store);
  const out: SavedLayer[] = [];
  for (const [i, diffId] of diffIds.entries()) {
    const d = (manifestLayers[i] ?? {}) as { digest?: unknown; mediaType?: unknown; size?: unknown };
    const hex = hexOf(d.digest);
    const blob = hex === undefined ? undefined : storedBlob(req.store, hex);
    const mediaType = typeof d.mediaType === 'string' ? d.mediaType : '';
    const compression: LayerCompression | undefined = mediaType.endsWith('gzip') ? 'gzip' : mediaType.endsWith('zstd') ? 'zstd' : mediaType.endsWith('.tar') ? 'none' : undefined;
    const record = storedTarSplit(req.store, diffId);
    if (blob !== undefined && compression !== undefined && (req.format === 'oci-archive' || compression === 'none')) {
      out.push({ file: blob, digest: hex!, size: fs.statSync(blob).size, diffId, mediaType });
    } else if (blob !== undefined && compression !== undefined) {
      const file = `${work}/layer-${i}.tar`;
      const tarHex = yield* decompressTo(blob, file, compression);
      out.push({ file, digest: tarHex, size: fs.statSync(file).size, diffId: tarHex, mediaType: 'application/vnd.oci.image.layer.v1.tar' });
    } else if (record !== undefined) {
      out.push(yield* reassembled(req, record, diffId, compression ?? 'gzip', `${work}/layer-${i}`));
    } else {
      const made = yield* makeLayerBlob({ dir: layerPath(s, diffId), userxattr: false, compression: req.format === 'oci-archive' ? 'gzip' : 'none', file: `${work}/layer-${i}` });
      out.push({ file: made.file, digest: made.digest, size: made.size, diffId: made.diffId, mediaType: made.mediaType });
      if (made.diffId !== diffId) rewritten.push(`sha256:${diffId}`);
    }
  }
  return out;
}

// The reference as the archive names it: podman reads an OCI archive's annotation as a full reference.
function fullName(ref: string): string {
  const first = ref.split('/')[0];
  const hasDomain = ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return hasDomain ? ref : `localhost/${ref}`;
}

function* archiveFiles(req: SaveRequest, work: string): Walk<{ files: ArchiveFile[]; config: string; rewritten: string[] }> {
  const s = storePaths(req.store);
  const image = yield* readImage(req.store, req.ref, 'ref');
  const manifestLayers = Array.isArray(image.manifest.layers) ? image.manifest.layers : [];
  const rewritten: string[] = [];
  const layers = yield* layersFor(req, work, manifestLayers, image.diffIds, rewritten);
  const changed = layers.some((l, i) => l.diffId !== image.diffIds[i]);
  const config = changed
    ? Buffer.from(JSON.stringify({ ...image.config, rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${l.diffId}`) } }))
    : fs.readFileSync(blobPath(s, image.configHex));
  const configHex = sha256Hex(config);
  const named = !req.ref.startsWith('sha256:');
  if (req.format === 'docker-archive') {
    const manifest = [{ Config: `${configHex}.json`, RepoTags: named ? [req.ref] : [], Layers: layers.map((l) => `${l.diffId}.tar`) }];
    const files: ArchiveFile[] = [
      ...layers.map((l) => ({ name: `${l.diffId}.tar`, file: l.file })),
      { name: `${configHex}.json`, bytes: config },
      { name: 'manifest.json', bytes: Buffer.from(JSON.stringify(manifest)) },
    ];
    return { files, config: `sha256:${configHex}`, rewritten };
  }
  const configDescriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${configHex}`, size: config.length };
  const manifest = Buffer.from(
    JSON.stringify({ ...image.manifest, config: configDescriptor, layers: layers.map((l) => ({ mediaType: l.mediaType, digest: `sha256:${l.digest}`, size: l.size })) }),
  );
  const manifestDescriptor = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${sha256Hex(manifest)}`,
    size: manifest.length,
    ...(named ? { annotations: { 'org.opencontainers.image.ref.name': fullName(req.ref) } } : {}),
  };
  const files: ArchiveFile[] = [
    { name: 'oci-layout', bytes: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    ...layers.map((l) => ({ name: `blobs/sha256/${l.digest}`, file: l.file })),
    { name: `blobs/sha256/${configHex}`, bytes: config },
    { name: `blobs/sha256/${sha256Hex(manifest)}`, bytes: manifest },
    { name: 'index.json', bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [manifestDescriptor] })) },
  ];
  return { files, config: `sha256:${configHex}`, rewritten };
}

const mtimeSec = Math.floor(Date.now() / 1000);

function* writeArchive(files: ArchiveFile[], sink: ByteSink, count: ProgressCount): Walk<number> {
  let written = 0;
  const put = function* (bytes: Buffer) {
    if (bytes.length === 0) return;
    written += bytes.length;
    yield* step(sink(bytes));
    count.bytes(bytes.length);
  };
  const dirs = new Set<string>();
  for (const f of files) {
    for (let d = path.posix.dirname(f.name); d !== '.' && !dirs.has(d); d = path.posix.dirname(d)) dirs.add(d);
  }
  for (const d of [...dirs].sort()) yield* put(tarHeader({ name: Buffer.from(`${d}/`), type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeSec }));
  for (const f of files) {
    const size = 'bytes' in f ? f.bytes.length : fs.statSync(f.file).size;
    yield* put(tarHeader({ name: Buffer.from(f.name), type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtimeSec }));
    if ('bytes' in f) yield* put(f.bytes);
    else {
      const fd = fs.openSync(f.file, 'r');
      try {
        for (let left = size; left > 0; ) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
          const n = fs.readSync(fd, buf);
          if (n === 0) throw new OverlayError({ errno: 5, field: 'store', path: f.file, reason: `'${f.file}' ended before its size: the store is damaged` });
          yield* put(buf.subarray(0, n));
          left -= n;
        }
      } finally {
        fs.closeSync(fd);
      }
      // Only layers are files on disk; the JSON files are in memory.
      count.layer();
    }
    yield* put(tarPadding(size));
  }
  yield* put(TAR_END);
  return written;
}

function fdSink(fd: number): ByteSink {
  return (bytes) =>
    fsStep(
      () => void fs.writeSync(fd, bytes),
      () => new Promise<void>((res, rej) => fs.write(fd, bytes, (e) => (e ? rej(e) : res()))),
    );
}

function streamSink(stream: Writable): ByteSink {
  return (bytes) =>
    fsStep(
      () => {
        throw new TypeError('a stream is written by save(), not saveSync()');
      },
      () =>
        new Promise<void>((res, rej) => {
          const onError = (e: Error) => rej(e);
          stream.once('error', onError);
          const done = () => {
            stream.off('error', onError);
            res();
          };
          if (stream.write(bytes)) done();
          else stream.once('drain', done);
        }),
    );
}

function* saveWalk(req: SaveRequest, out: { path: string } | { stream: Writable }): Walk<SaveResult> {
  const work = openForWrite(storePaths(req.store));
  try {
    const { files, config, rewritten } = yield* archiveFiles(req, work);
    if ('stream' in out) {
      const size = yield* writeArchive(files, streamSink(out.stream), req.count);
      return { ref: req.ref, format: req.format, config, size, rewritten };
    }
    const temp = path.join(path.dirname(out.path), `.${path.basename(out.path)}.ovl-save-${randomBytes(6).toString('hex')}`);
    const fd = fs.openSync(temp, 'wx', 0o644);
    try {
      const size = yield* writeArchive(files, fdSink(fd), req.count);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(temp, out.path);
      return { ref: req.ref, format: req.format, config, size, rewritten };
    } catch (err) {
      try {
        fs.closeSync(fd);
      } catch {
        // closed already, before the rename failed
      }
      fs.rmSync(temp, { force: true });
      throw err;
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function checkOut(out: unknown, streamOk: boolean): { path: string } | { stream: Writable } {
  if (typeof out === 'string') {
    const file = checkPath('out', out);
    const dir = path.dirname(file);
    if (!fs.existsSync(dir)) throw new OverlayError({ errno: ENOENT, field: 'out', path: file, reason: `the directory '${dir}' that would hold '${file}' does not exist` });
    return { path: file };
  }
  if (streamOk && typeof out === 'object' && out !== null && typeof (out as Writable).write === 'function') return { stream: out as Writable };
  throw typeError('out', streamOk ? 'a path string or a writable stream' : 'a path string', out);
}

/**
 * Writes image `ref` of `store` (a reference, or 'sha256:<manifest hex>') as
 * an archive in `options.format` to `out`: a path (written whole or not at
 * all) or a writable stream.
 */
export async function save(store: string, ref: string, out: string | Writable, options: SaveOptions): Promise<SaveResult> {
  const req = checkRequest(store, ref, options, 'save()');
  return runAsync(saveWalk(req, checkOut(out, true)));
}

/** Synchronous twin of {@link save}, to a path. */
export function saveSync(store: string, ref: string, out: string, options: SaveOptions): SaveResult {
  const req = checkRequest(store, ref, options, 'saveSync()');
  return runSync(saveWalk(req, checkOut(out, false)));
}
