// A layer directory made into a layer blob in a work directory: the tar in
// OCI form (layer-tar.ts), gzip'd, zstd'd or not, written to a file and hashed as it
// goes (its digest, and the tar's own: the diff id). For a commit the same
// bytes are unpacked at once, as unpack would unpack them (archive-blobs), so
// the layer the store keeps is what the blob holds.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Walk } from '../core/sync-or-async';
import { blobSink, type BlobRecord } from './archive-blobs';
import { writeLayerTar } from './layer-tar';
import { compressor, type LayerCompression } from './compression/codecs';

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

export function* makeLayerBlob(req: LayerBlobRequest): Walk<LayerBlob> {
  const fd = fs.openSync(req.file, 'wx', 0o644);
  const blobHash = createHash('sha256');
  const tarHash = createHash('sha256');
  let size = 0;
  let record: BlobRecord | undefined;
  const unpacked = req.unpackInto && blobSink(req.file, () => req.unpackInto!.dir, req.unpackInto.storedBytes, (r) => (record = r));
  const emit = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    fs.writeSync(fd, bytes);
    blobHash.update(bytes);
    size += bytes.length;
    unpacked?.data(bytes);
    req.written?.(bytes.length);
  };
  const codec = compressor(req.compression);
  try {
    const { skipped } = yield* writeLayerTar(req.dir, {
      userxattr: req.userxattr,
      out: (bytes) => {
        tarHash.update(bytes);
        if (codec) codec.write(bytes, emit);
        else emit(bytes);
      },
    });
    codec?.end(emit);
    fs.fsyncSync(fd);
    unpacked?.end();
    const error = record?.layer?.error;
    if (error !== undefined) throw error;
    return {
      digest: blobHash.digest('hex'),
      size,
      diffId: tarHash.digest('hex'),
      mediaType: LAYER_MEDIA_TYPE[req.compression],
      file: req.file,
      ...(record?.layer ? { dir: record.layer.dir } : {}),
      skipped,
    };
  } finally {
    fs.closeSync(fd);
  }
}
