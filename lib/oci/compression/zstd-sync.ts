// Zstd decompressed (a layer streaming past unpack) or compressed (a layer
// commit writes) synchronously, a slice at a time, by libzstd in the addon
// (native/oci/zstd_entry.cc): the same shape as zlib-sync.ts, so a layer's
// bytes take one path whatever their compression. Node 20's zlib has no
// zstd; one code path serves every Node line the package supports.
import { native, type NativeZstdStream } from '../../core/native';

/** The zstd program's default level; podman writes zstd layers at it too. */
const DEFAULT_LEVEL = 3;
/** Small slices (a tar header, a small file) are gathered up to this before a call into the addon. */
const STAGE = 128 * 1024;

class ZstdStreamSync {
  private readonly stream: NativeZstdStream;
  private readonly staged = Buffer.allocUnsafe(STAGE);
  private stagedBytes = 0;

  constructor(compress: boolean) {
    this.stream = native.zstdOpen(compress, DEFAULT_LEVEL);
  }

  /** Decompresses (compresses) `input`, handing each piece of output to `out` (some of it perhaps only at a later call). */
  write(input: Buffer, out: (bytes: Buffer) => void): void {
    if (this.stagedBytes + input.length <= STAGE) {
      input.copy(this.staged, this.stagedBytes);
      this.stagedBytes += input.length;
      if (this.stagedBytes === STAGE) this.flush(false, out);
      return;
    }
    this.flush(false, out);
    if (input.length >= STAGE) this.push(input, false, out);
    else this.write(input, out);
  }

  /** The input has ended: the last output out; decompressing, throws (code ZSTD_ERROR) if the stream stopped inside a frame. */
  end(out: (bytes: Buffer) => void): void {
    try {
      this.flush(true, out);
    } finally {
      native.zstdClose(this.stream);
    }
  }

  /** Frees the context at once when the stream is given up midway. */
  close(): void {
    native.zstdClose(this.stream);
  }

  private flush(end: boolean, out: (bytes: Buffer) => void): void {
    const bytes = this.staged.subarray(0, this.stagedBytes);
    this.stagedBytes = 0;
    if (bytes.length > 0 || end) this.push(bytes, end, out);
  }

  private push(input: Buffer, end: boolean, out: (bytes: Buffer) => void): void {
    try {
      for (const piece of native.zstdPush(this.stream, input, end)) out(piece);
    } catch (err) {
      native.zstdClose(this.stream);
      throw err;
    }
  }
}

/** Zstd decompressed a slice at a time. */
export class UnzstdSync extends ZstdStreamSync {
  constructor() {
    super(false);
  }
}

/** Zstd compressed a slice at a time, at level 3 (the zstd program's default). */
export class ZstdSync extends ZstdStreamSync {
  constructor() {
    super(true);
  }
}
