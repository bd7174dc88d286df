// The one owner of a layer's tar-split record (STORE/tar-split/<diff id>,
// docs/oci-store.md): what it takes to make an unpacked layer's tar again
// byte for byte, so that save gives back the diff id the image's config
// names. The record holds every byte of the tar but the data of regular
// files (headers, PAX and long-name records, padding, the end blocks and
// whatever follows them), and in their place which file of the layer
// directory holds the data, how many bytes and their CRC-32. zstd'd
// (libzstd on its worker thread: the unpack's thread only gathers it), as:
//   "ovl-tar-split 1\n"
//   'R' u32 n, n bytes            bytes of the tar as they were
//   'F' u16 n, n bytes path, u64 size, u32 crc32
//                                 `size` bytes from the file at path (from the layer's root)
//   'E'                           the end
// All numbers big-endian.
import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { OverlayError } from '../core/errors';
import { fsStep, step, type Walk } from '../core/sync-or-async';
import { compressor, decompressor, type SliceCodec } from './compression/codecs';
import type { TarEntrySink } from './tar-reader';

const MAGIC = Buffer.from('ovl-tar-split 1\n');
const STAGE = 256 * 1024;
const OP_RAW = 0x52; // 'R'
const OP_FILE = 0x46; // 'F'
const OP_END = 0x45; // 'E'
const CHUNK = 1024 * 1024;
const EIO = 5;

/**
 * Records one layer's tar as it streams past the reader: `raw` takes the
 * reader's tap, `file` wraps the sink of each regular file the layer writer
 * makes. A tar that cannot be made again from the files (a name written
 * twice, a file that fromOci turned into a whiteout) leaves no record.
 */
export class TarSplitWriter {
  private readonly fd: number;
  private readonly codec: SliceCodec = compressor('zstd')!;
  private readonly write = (bytes: Buffer) => void fs.writeSync(this.fd, bytes);
  // Steps gathered before they go to the compressor: a call into the addon per file would cost more than the file's step.
  private readonly stage = Buffer.allocUnsafe(STAGE);
  private fill = 0;
  // Where the open 'R' step's header is in the stage, or -1.
  private rawAt = -1;
  private readonly files: [string, number][] = [];

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'wx', 0o644);
    this.put(MAGIC);
  }

  /** Bytes of the tar kept as they are; copied, since the reader's slices are reused. */
  tap(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) {
      if (this.rawAt < 0) {
        if (this.fill + 6 > STAGE) this.flush();
        this.rawAt = this.fill;
        this.stage[this.fill] = OP_RAW;
        this.fill += 5;
      }
      const take = Math.min(bytes.length - at, STAGE - this.fill);
      bytes.copy(this.stage, this.fill, at, at + take);
      this.fill += take;
      at += take;
      if (this.fill === STAGE) this.flush();
    }
  }

  /** The data of a regular file at `rel` goes through `sink`; the record names the file and checks its bytes. */
  fileSink(rel: string, size: number, sink: TarEntrySink): TarEntrySink {
    if (size === 0) return sink;
    let crc = 0;
    return {
      data: (chunk) => {
        crc = crc32(chunk, crc);
        sink.data(chunk);
      },
      abort: () => sink.abort?.(),
      end: () => {
        sink.end();
        const name = Buffer.from(rel);
        const op = Buffer.allocUnsafe(1 + 2 + name.length + 8 + 4);
        op[0] = OP_FILE;
        op.writeUInt16BE(name.length, 1);
        name.copy(op, 3);
        op.writeBigUInt64BE(BigInt(size), 3 + name.length);
        op.writeUInt32BE(crc, 3 + name.length + 8);
        this.put(op);
        this.files.push([rel, size]);
      },
    };
  }

  /**
   * The tar has ended and its layer directory `dir` is in its final form:
   * returns the record's path, or undefined (and no file) when `dir` no
   * longer holds each file the record names at its size, or `replaced` says
   * a name of the tar was written twice.
   */
  end(dir: string, replaced: boolean): string | undefined {
    try {
      this.put(Buffer.from([OP_END]));
      this.flush();
      this.codec.end(this.write);
    } finally {
      fs.closeSync(this.fd);
    }
    const whole =
      !replaced &&
      this.files.every(([rel, size]) => {
        const st = fs.lstatSync(`${dir}/${rel}`, { throwIfNoEntry: false });
        return st !== undefined && st.isFile() && st.size === size;
      });
    if (whole) return this.file;
    fs.rmSync(this.file);
    return undefined;
  }

  /** Drops the record (the layer failed): its compressor's context and thread freed now, not at collection. */
  abandon(): void {
    try {
      this.codec.end(() => undefined);
    } catch {
      // ended by end() already
    }
    try {
      fs.closeSync(this.fd);
    } catch {
      // closed by end() already
    }
    fs.rmSync(this.file, { force: true });
  }

  // A whole step (not 'R') into the stage.
  private put(step: Buffer): void {
    this.closeRaw();
    if (this.fill + step.length > STAGE) this.flush();
    if (step.length > STAGE) this.codec.write(step, this.write);
    else {
      step.copy(this.stage, this.fill);
      this.fill += step.length;
    }
  }

  private closeRaw(): void {
    if (this.rawAt < 0) return;
    this.stage.writeUInt32BE(this.fill - this.rawAt - 5, this.rawAt + 1);
    this.rawAt = -1;
  }

  private flush(): void {
    this.closeRaw();
    if (this.fill > 0) this.codec.write(this.stage.subarray(0, this.fill), this.write);
    this.fill = 0;
  }
}

// The record's bytes, inflated as they are asked for.
class RecordInput {
  private readonly codec = decompressor('zstd')!;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private readonly buf = Buffer.allocUnsafe(64 * 1024);
  private readonly push = (b: Buffer) => {
    this.queue.push(Buffer.from(b));
    this.queued += b.length;
  };

  constructor(
    private readonly fd: number,
    private readonly damaged: () => OverlayError,
  ) {}

  /** Exactly `n` bytes. */
  take(n: number): Buffer {
    while (this.queued < n) this.pull();
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const part = this.takeUpTo(left);
      parts.push(part);
      left -= part.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Between 1 and `n` bytes. */
  takeUpTo(n: number): Buffer {
    while (this.queued === 0) this.pull();
    const first = this.queue[0];
    if (first.length <= n) {
      this.queue.shift();
      this.queued -= first.length;
      return first;
    }
    this.queue[0] = first.subarray(n);
    this.queued -= n;
    return first.subarray(0, n);
  }

  private pull(): void {
    if (this.ended) throw this.damaged();
    const n = fs.readSync(this.fd, this.buf);
    try {
      if (n === 0) {
        this.ended = true;
        this.codec.end(this.push);
      } else this.codec.write(this.buf.subarray(0, n), this.push);
    } catch {
      throw this.damaged();
    }
  }
}

function readStep(fd: number, buf: Buffer, length: number) {
  return fsStep(
    () => fs.readSync(fd, buf, 0, length, null),
    () => new Promise<number>((resolve, reject) => fs.read(fd, buf, 0, length, null, (err, n) => (err ? reject(err) : resolve(n)))),
  );
}

/**
 * Makes the tar of layer `diffId` again from its record and its directory,
 * handing each slice to `out`. Throws, naming the layer and the file, when a
 * file the record names is missing or its bytes are not those unpacked: a
 * caller must check the whole tar's sha256 against the diff id besides (the
 * record itself may be damaged) before it uses what `out` took.
 */
export function* reassembleTar(record: string, dir: string, diffId: string, out: (bytes: Buffer) => void): Walk<void> {
  const damaged = (reason: string, path = record) =>
    new OverlayError({ errno: EIO, field: 'store', path, reason: `layer sha256:${diffId}: ${reason}; the store is damaged` });
  const fd = fs.openSync(record, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  try {
    const input = new RecordInput(fd, () => damaged(`its tar-split record '${record}' is truncated or damaged`));
    if (!input.take(MAGIC.length).equals(MAGIC)) throw damaged(`'${record}' is not a tar-split record`);
    for (;;) {
      const op = input.take(1).toString('latin1');
      if (op === 'E') return;
      if (op === 'R') {
        for (let left = input.take(4).readUInt32BE(0); left > 0; ) {
          const part = input.takeUpTo(left);
          out(part);
          left -= part.length;
        }
      } else if (op === 'F') {
        const rel = input.take(input.take(2).readUInt16BE(0)).toString();
        const tail = input.take(12);
        yield* fileBytes(`${dir}/${rel}`, Number(tail.readBigUInt64BE(0)), tail.readUInt32BE(8), buf, out, damaged);
      } else throw damaged(`its tar-split record '${record}' holds an unknown step`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function* fileBytes(path: string, size: number, crc: number, buf: Buffer, out: (bytes: Buffer) => void, damaged: (reason: string, path: string) => OverlayError): Walk<void> {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    throw damaged(`its file '${path}' is gone`, path);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size !== size) throw damaged(`its file '${path}' was changed after it was unpacked (${st.size} bytes, unpacked ${size})`, path);
    let sum = 0;
    for (let left = size; left > 0; ) {
      const length = Math.min(buf.length, left);
      const n = size <= buf.length ? fs.readSync(fd, buf, 0, length, null) : yield* step(readStep(fd, buf, length));
      if (n === 0) throw damaged(`its file '${path}' ended early`, path);
      const bytes = Buffer.from(buf.subarray(0, n));
      sum = crc32(bytes, sum);
      out(bytes);
      left -= n;
    }
    if (sum !== crc) throw damaged(`its file '${path}' was changed after it was unpacked (its bytes differ)`, path);
  } finally {
    fs.closeSync(fd);
  }
}
