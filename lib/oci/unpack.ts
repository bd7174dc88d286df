// unpack(): an image archive (docker-archive, oci-archive, or an oci-dir)
// into an image store, read once as it streams. Every file of the archive
// goes through archive-blobs (layers unpacked into the store's tmp/ as they
// pass); once the stream has ended the manifests are read and checked
// (archive-images), and only then does anything enter the store, each part
// by one rename: layers, then configs and manifests, then refs. A failure before that leaves the
// store as it was; one during it leaves whole layers or blobs that the next
// run finds there and skips.
import fs from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { checkOptions, checkPath, typeError } from '../core/args';
import { fsStep, runAsync, runSync, step, type Step, type Walk } from '../core/sync-or-async';
import { blobSink, type BlobRecord } from './archive-blobs';
import { checkProgress, ProgressCount, type OciProgressCallback } from './progress';
import { archiveImages } from './archive-images';
import { blobPath, layerPath, moveIn, openForWrite, refPath, sha256Hex, storePaths, tarSplitPath, writeWhole } from './store';
import { TarReader, type TarEntrySink } from './tar-reader';

const CHUNK = 1024 * 1024;

export interface UnpackOptions {
  /** The image store directory (made if missing); see docs/oci-store.md. */
  store: string;
  /** Called as the archive is read: its bytes read and layers unpacked so far. */
  progress?: OciProgressCallback;
}

export interface UnpackedLayer {
  /** 'sha256:<hex>' of the uncompressed layer tar. */
  diffId: string;
  /** Its directory in the store, in overlay form. */
  path: string;
  /** False when the store held it already. */
  added: boolean;
}

export interface UnpackResult {
  /** Each reference stored, in archive order. */
  refs: string[];
  /** Each layer of those images, once, bottom layer of the first image first. */
  layers: UnpackedLayer[];
}

// Where the archive's bytes come from: a chunk at a time, null at the end.
type NextChunk = () => Step<Buffer | null>;

function fileChunks(fd: number, buf: Buffer): NextChunk {
  return () =>
    fsStep(
      () => {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        return n === 0 ? null : buf.subarray(0, n);
      },
      () =>
        new Promise<Buffer | null>((resolve, reject) =>
          fs.read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n === 0 ? null : buf.subarray(0, n)))),
        ),
    );
}

function streamChunks(stream: Readable): NextChunk {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  return () =>
    fsStep(
      () => {
        throw new TypeError('a stream is read by unpack(), not unpackSync()');
      },
      async () => {
        const next = await it.next();
        return next.done ? null : Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      },
    );
}

function* pump(next: NextChunk, into: { push(b: Buffer): void }, count: ProgressCount): Walk<void> {
  for (;;) {
    const chunk = yield* step(next());
    if (chunk === null) return;
    into.push(chunk);
    count.bytes(chunk.length);
  }
}

function* openFd(path: string): Walk<number> {
  return yield* step(fsStep(() => fs.openSync(path, 'r'), () => new Promise<number>((res, rej) => fs.open(path, 'r', (e, fd) => (e ? rej(e) : res(fd))))));
}

function* withFile<T>(path: string, use: (fd: number) => Walk<T>): Walk<T> {
  const fd = yield* openFd(path);
  try {
    return yield* use(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// An oci-dir: each file beneath it, named as it would be in the archive.
function* readDirectory(dir: string, sinkFor: (name: string) => TarEntrySink, buf: Buffer, count: ProgressCount): Walk<void> {
  const names = yield* step(fsStep(() => fs.readdirSync(dir, { recursive: true }) as string[], () => fs.promises.readdir(dir, { recursive: true }) as Promise<string[]>));
  for (const name of names.sort()) {
    const st = fs.lstatSync(`${dir}/${name}`);
    if (!st.isFile()) continue;
    const sink = sinkFor(name);
    try {
      yield* withFile(`${dir}/${name}`, (fd) => pump(fileChunks(fd, buf), { push: (b) => sink.data(b) }, count));
    } catch (err) {
      sink.abort?.();
      throw err;
    }
    sink.end();
  }
}

const archiveName = (name: string) => posix.normalize(name).replace(/^\.\//, '');

type Source = { kind: 'path'; path: string } | { kind: 'stream'; stream: Readable };

function* readArchive(source: Source, work: string, storedBytes: number, count: ProgressCount): Walk<Map<string, BlobRecord>> {
  const blobs = new Map<string, BlobRecord>();
  let layers = 0;
  const sinkFor = (name: string) =>
    blobSink(archiveName(name), () => `${work}/layer-${layers++}`, storedBytes, true, (r) => {
      blobs.set(r.name, r);
      if (r.layer) count.layer();
    });
  const buf = Buffer.allocUnsafe(CHUNK);
  // A docker-archive names a layer twice, the second by a symlink ('<id>/layer.tar -> ../<hex>.tar').
  const aliases: [string, string][] = [];
  const outer = new TarReader('archive', (e) => {
    const name = e.name.toString('utf8');
    if (e.type === 'symlink') aliases.push([archiveName(name), archiveName(posix.join(posix.dirname(name), e.linkname.toString('utf8')))]);
    return e.type === 'file' ? sinkFor(name) : undefined;
  });
  try {
    if (source.kind === 'stream') yield* pump(streamChunks(source.stream), outer, count);
    else {
      const st = yield* step(fsStep(() => fs.statSync(source.path), () => fs.promises.stat(source.path)));
      if (st.isDirectory()) {
        yield* readDirectory(source.path, sinkFor, buf, count);
        return blobs;
      }
      yield* withFile(source.path, (fd) => pump(fileChunks(fd, buf), outer, count));
    }
    outer.end();
  } catch (err) {
    // A layer cut short, or refused while others stream: what its sinks hold goes before the work directory does.
    outer.abort();
    throw err;
  }
  for (const [alias, target] of aliases) {
    const record = blobs.get(target);
    if (record && !blobs.has(alias)) blobs.set(alias, record);
  }
  return blobs;
}

function* unpackWalk(source: Source, root: string, count: ProgressCount): Walk<UnpackResult> {
  const s = storePaths(root);
  const work = yield* step(fsStep(() => openForWrite(s), async () => openForWrite(s)));
  try {
    const images = archiveImages(yield* readArchive(source, work, Buffer.byteLength(layerPath(s, '0'.repeat(64))), count));
    const result: UnpackResult = { refs: [], layers: [] };
    const seen = new Set<string>();
    const ready: [string, string][] = [];
    for (const layer of images.flatMap((i) => i.layers)) {
      const { diffId, dir, tarSplit } = layer.layer!;
      if (seen.has(diffId)) continue;
      seen.add(diffId);
      const to = layerPath(s, diffId);
      const present = fs.existsSync(to);
      // A layer's record before the layer: a layer in the store then has its record, if it is to have one.
      if (tarSplit !== undefined) ready.push([tarSplit, tarSplitPath(s, diffId)]);
      if (!present) ready.push([dir, to]);
      result.layers.push({ diffId: `sha256:${diffId}`, path: to, added: !present });
    }
    for (const [from, to] of ready) moveIn(from, to);
    for (const image of images) {
      writeWhole(work, blobPath(s, sha256Hex(image.config)), image.config, false);
      writeWhole(work, blobPath(s, sha256Hex(image.manifest)), image.manifest, false);
    }
    for (const image of images) {
      for (const ref of image.refs) {
        writeWhole(work, refPath(s, ref), `sha256:${sha256Hex(image.manifest)}\n`, true);
        result.refs.push(ref);
      }
    }
    return result;
  } finally {
    yield* step(fsStep(() => fs.rmSync(work, { recursive: true, force: true }), () => fs.promises.rm(work, { recursive: true, force: true })));
  }
}

function checkStore(options: UnpackOptions | undefined, call: string): [string, ProgressCount] {
  const o = checkOptions(options, ['store', 'progress'], call);
  return [checkPath('store', o.store), new ProgressCount(checkProgress(o.progress))];
}

function isReadable(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable)[Symbol.asyncIterator] === 'function';
}

/**
 * Unpacks the image archive `archive` (a path to a docker-archive or
 * oci-archive tar, or to an oci-dir; or a readable stream of an archive)
 * into the image store `options.store`. Resolves to the references stored
 * and the layers of their images.
 */
export async function unpack(archive: string | Readable, options: UnpackOptions): Promise<UnpackResult> {
  const [store, count] = checkStore(options, 'unpack()');
  if (typeof archive === 'string') return runAsync(unpackWalk({ kind: 'path', path: checkPath('archive', archive) }, store, count));
  if (isReadable(archive)) return runAsync(unpackWalk({ kind: 'stream', stream: archive }, store, count));
  throw typeError('archive', 'a path string or a readable stream', archive);
}

/** Synchronous twin of {@link unpack}, for an archive given by its path. */
export function unpackSync(archive: string, options: UnpackOptions): UnpackResult {
  const [store, count] = checkStore(options, 'unpackSync()');
  if (typeof archive !== 'string') throw typeError('archive', 'a path string', archive);
  return runSync(unpackWalk({ kind: 'path', path: checkPath('archive', archive) }, store, count));
}
