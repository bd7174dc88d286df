// Which codec a layer's compression takes, both ways, and how a codec's own
// failure is said: as the layer's stream being truncated or damaged.
import { OverlayError } from '../../core/errors';
import { GunzipSync, GzipSync } from './zlib-sync';
import { UnzstdSync, ZstdSync } from './zstd-sync';

const EINVAL = 22;

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** A codec driven a slice at a time: each slice in, all the output it gives out. */
export interface SliceCodec {
  write(input: Buffer, out: (bytes: Buffer) => void): void;
  end(out: (bytes: Buffer) => void): void;
}

/** The decompressor of a layer blob; none for an uncompressed one. */
export function decompressor(compression: LayerCompression): SliceCodec | undefined {
  if (compression === 'gzip') return new GunzipSync();
  if (compression === 'zstd') return new UnzstdSync();
  return undefined;
}

/** The compressor of a new layer blob; none for an uncompressed one. */
export function compressor(compression: LayerCompression): SliceCodec | undefined {
  if (compression === 'gzip') return new GzipSync();
  if (compression === 'zstd') return new ZstdSync();
  return undefined;
}

/** What the first four bytes of a blob say it is. */
export function compressionOf(first: Buffer): LayerCompression {
  if (first[0] === 0x1f && first[1] === 0x8b) return 'gzip';
  if (first.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** A codec's own error (zlib's Z_BUF_ERROR at a cut, Z_DATA_ERROR; zstd's ZSTD_ERROR) said as the layer's; any other passes as it is. */
export function codecError(err: unknown, compression: LayerCompression, label: string): unknown {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !(code.startsWith('Z_') || code === 'ZSTD_ERROR')) return err;
  return new OverlayError({ errno: EINVAL, field: 'archive', path: label, reason: `the ${compression} stream of layer '${label}' cannot be read (${(err as Error).message}): it is truncated or damaged` });
}
