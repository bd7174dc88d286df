// Each file of an image archive as it streams past: hashed (sha256 of its
// bytes, its digest in the archive), and either kept in memory when it is
// JSON (manifests, configs, index.json) or, when it is a layer (a tar, or a
// gzip'd or zstd'd tar), decompressed and unpacked at once into its own
// temporary directory and turned into overlay form (fromOci), with the
// uncompressed tar hashed too (its diff id). Which files are layers is only
// known once the manifests are read, and those may come after the layers in
// the stream: so every blob is taken for what its first bytes say, and a
// failure to read one as a layer is kept, to be raised only if a manifest
// names it as a layer.
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { OverlayError } from '../core/errors';
import { fromOciSync } from '../convert/from-oci';
import { codecError, compressionOf, decompressor, type LayerCompression, type SliceCodec } from './compression/codecs';
import { LayerWriter } from './layer-writer';
import { TarReader, type TarEntrySink } from './tar-reader';
import { TarSplitWriter } from './tar-split';

const EFBIG = 27;
const JSON_LIMIT = 64 * 1024 * 1024;

/** What one archive file turned out to be. */
export interface BlobRecord {
  name: string;
  /** sha256 hex of its bytes. */
  digest: string;
  size: number;
  /** Set for JSON blobs. */
  json?: Buffer;
  /** Set for blobs read as layers. */
  layer?: {
    /** sha256 hex of the uncompressed tar. */
    diffId: string;
    /** The unpacked tree, in overlay form. */
    dir: string;
    compression: LayerCompression;
    /** Its tar-split record (tar-split.ts), when one was asked for and the tar can be made again from the tree. */
    tarSplit?: string;
    /** Why it could not be read as a layer, when it could not. */
    error?: unknown;
  };
}

/** How a LayerSink works: see its constructor. */
export interface LayerSinkOptions {
  /** The length of the layer's path once in the store, which names must fit beneath. */
  storedBytes: number;
  /** Make the layer's tar-split record beside `dir`. */
  keepTarSplit: boolean;
  /** Hash the tar (its diff id, from `end`); off when the caller hashes the same bytes already. */
  hashTar: boolean;
}

/**
 * One layer's bytes (compressed as `compression` says) unpacked into the new
 * directory `dir` as they come; `end` gives the tar's sha256 hex (its diff
 * id; '' when not asked for); `error` holds why it could not be unpacked,
 * once `end` has run.
 */
export class LayerSink {
  private readonly diff: Hash | undefined;
  private readonly reader: TarReader;
  private readonly writer: LayerWriter;
  private readonly codec?: SliceCodec;
  private readonly split?: TarSplitWriter;
  private readonly toTar = (bytes: Buffer) => this.tar(bytes);
  error: unknown;
  tarSplit: string | undefined;

  constructor(
    readonly dir: string,
    readonly compression: LayerCompression,
    private readonly label: string,
    { storedBytes, keepTarSplit, hashTar }: LayerSinkOptions,
  ) {
    this.diff = hashTar ? createHash('sha256') : undefined;
    fs.mkdirSync(dir);
    // As tar leaves a directory it extracts into; a '.' entry in the layer sets its own.
    fs.chmodSync(dir, 0o755);
    this.writer = new LayerWriter(dir, storedBytes);
    const split = keepTarSplit ? new TarSplitWriter(`${dir}.tar-split`) : undefined;
    this.split = split;
    this.reader = split
      ? new TarReader(
          label,
          (e) => {
            const sink = this.writer.entry(e);
            return sink && split.fileSink(sink.rel, e.size, sink);
          },
          (bytes) => split.tap(bytes),
        )
      : new TarReader(label, (e) => this.writer.entry(e));
    this.codec = decompressor(compression);
  }

  data(chunk: Buffer): void {
    if (this.error !== undefined) return;
    try {
      if (this.codec) this.codec.write(chunk, this.toTar);
      else this.tar(chunk);
    } catch (err) {
      this.error = codecError(err, this.compression, this.label);
    }
  }

  end(): string {
    if (this.error === undefined) {
      try {
        this.codec?.end(this.toTar);
        this.reader.end();
        // In overlay form before the directories get their times: making a whiteout changes its directory's.
        fromOciSync(this.dir);
        this.writer.finish();
        this.tarSplit = this.split?.end(this.dir, this.writer.replaced);
      } catch (err) {
        this.error = codecError(err, this.compression, this.label);
      }
    }
    if (this.error !== undefined) this.abort();
    return this.diff?.digest('hex') ?? '';
  }

  /** The layer will not be finished (its stream was cut, or it failed): the file being written and the record let go. */
  abort(): void {
    this.reader.abort();
    this.split?.abandon();
  }

  private tar(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.diff?.update(bytes);
    this.reader.push(bytes);
  }
}

/**
 * The sink for one archive file: the first bytes choose JSON or layer.
 * `layerDir` gives a fresh directory path for a layer; `storedBytes` is the
 * length of a layer's path once in the store, which names must fit beneath;
 * `keepTarSplit` asks for each layer's tar-split record beside its directory.
 */
export function blobSink(name: string, layerDir: () => string, storedBytes: number, keepTarSplit: boolean, done: (record: BlobRecord) => void): TarEntrySink {
  const raw = createHash('sha256');
  let size = 0;
  let json: Buffer[] | undefined;
  let layer: LayerSink | undefined;
  let head: Buffer | undefined;
  const start = (first: Buffer) => {
    if (first[0] === 0x7b || first[0] === 0x5b) json = [];
    else layer = new LayerSink(layerDir(), compressionOf(first), name, { storedBytes, keepTarSplit, hashTar: true });
  };
  const pass = (chunk: Buffer) => {
    if (json) {
      if (size > JSON_LIMIT) throw new OverlayError({ errno: EFBIG, field: 'archive', path: name, reason: `'${name}' looks like JSON but is over ${JSON_LIMIT} bytes` });
      json.push(Buffer.from(chunk));
    } else layer!.data(chunk);
  };
  return {
    abort() {
      layer?.abort();
    },
    data(chunk) {
      raw.update(chunk);
      size += chunk.length;
      if (json === undefined && layer === undefined) {
        // Four bytes tell gzip and zstd from the rest; hold a shorter first slice.
        head = head ? Buffer.concat([head, chunk]) : chunk;
        if (head.length < 4) return;
        start(head);
        chunk = head;
        head = undefined;
      }
      pass(chunk);
    },
    end() {
      if (head) {
        start(Buffer.concat([head, Buffer.alloc(4)]));
        pass(head);
      }
      const record: BlobRecord = { name, digest: raw.digest('hex'), size };
      if (json) record.json = Buffer.concat(json);
      if (layer) {
        const diffId = layer.end();
        record.layer = {
          diffId,
          dir: layer.dir,
          compression: layer.compression,
          ...(layer.tarSplit === undefined ? {} : { tarSplit: layer.tarSplit }),
          ...(layer.error === undefined ? {} : { error: layer.error }),
        };
      }
      done(record);
    },
  };
}
