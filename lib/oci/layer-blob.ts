// A layer directory made into a layer blob in a work directory: the tar in
// OCI form (layer-tar.ts), gzip'd, zstd'd or not, written to a file and hashed as it
// goes (its digest, and the tar's own: the diff id). For a commit the tar's
// bytes, as they go into the compressor, are unpacked at once by unpack's own
// reader and writer (archive-blobs), so the layer the store keeps is what the
// blob holds, without decompressing the blob again.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Walk } from '../core/sync-or-async';
import { LayerSink } from './archive-blobs';
import { writeLayerTar } from './layer-tar';
import { compressor, type LayerCompression, type SliceCodec } from './compression/codecs';

export type { LayerCompression } from './compression/codecs';

export const LAYER_MEDIA_TYPE: Record<LayerCompression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

export interface LayerBlobRequest {
  /** The layer directory, in overlay form. */
  dir: string;
  userxattr: boolean;
  compression: LayerCompression;
  /** Where the blob goes (a new file). */
  file: string;
  /** Set to unpack the blob into this new directory too; with the length of a layer's path in the store. */
  unpackInto?: { dir: string; storedBytes: number };
  /** Told the size of each slice of the blob written. */
  written?: (bytes: number) => void;
}

export interface LayerBlob {
  /** sha256 hex of the blob. */
  digest: string;
  size: number;
  /** sha256 hex of the uncompressed tar. */
  diffId: string;
  mediaType: string;
  file: string;
  /** The unpacked layer, when asked for. */
  dir?: string;
  /** Paths left out of the tar (sockets). */
  skipped: string[];
}

/**
 * A layer blob written to a new file from its tar's slices: compressed as
 * asked, the blob's digest and the tar's (the diff id) taken as it goes;
 * `emitted` sees each slice of the blob.
 */
export class LayerBlobFile {
  private readonly fd: number;
  private readonly blobHash = createHash('sha256');
  private readonly tarHash = createHash('sha256');
  private readonly codec: SliceCodec | undefined;
  private readonly emit = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    fs.writeSync(this.fd, bytes);
    this.blobHash.update(bytes);
    this.size += bytes.length;
    this.emitted?.(bytes);
  };
  private size = 0;

  constructor(
    readonly file: string,
    readonly compression: LayerCompression,
    private readonly emitted?: (bytes: Buffer) => void,
  ) {
    this.fd = fs.openSync(file, 'wx', 0o644);
    this.codec = compressor(compression);
  }

  /** The next slice of the tar. */
  tar(bytes: Buffer): void {
    this.tarHash.update(bytes);
    if (this.codec) this.codec.write(bytes, this.emit);
    else this.emit(bytes);
  }

  /** The tar has ended: the blob made whole on disk. */
  finish(): Omit<LayerBlob, 'skipped' | 'dir'> {
    this.codec?.end(this.emit);
    fs.fsyncSync(this.fd);
    return { digest: this.blobHash.digest('hex'), size: this.size, diffId: this.tarHash.digest('hex'), mediaType: LAYER_MEDIA_TYPE[this.compression], file: this.file };
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export function* makeLayerBlob(req: LayerBlobRequest): Walk<LayerBlob> {
  // The blob file hashes the tar already: the unpacker need not again.
  const unpacked = req.unpackInto && new LayerSink(req.unpackInto.dir, 'none', req.file, { storedBytes: req.unpackInto.storedBytes, keepTarSplit: false, hashTar: false });
  const blob = new LayerBlobFile(req.file, req.compression, req.written && ((bytes) => req.written!(bytes.length)));
  try {
    const { skipped } = yield* writeLayerTar(req.dir, {
      userxattr: req.userxattr,
      out: (bytes) => {
        blob.tar(bytes);
        unpacked?.data(bytes);
      },
    });
    const made = blob.finish();
    if (unpacked) {
      unpacked.end();
      if (unpacked.error !== undefined) throw unpacked.error;
    }
    return { ...made, ...(unpacked ? { dir: unpacked.dir } : {}), skipped };
  } catch (err) {
    unpacked?.abort();
    throw err;
  } finally {
    blob.close();
  }
}
