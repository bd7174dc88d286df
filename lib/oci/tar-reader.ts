// The one reader of the tar format (ustar, GNU long names, PAX headers), as
// a push parser: bytes go in as they arrive from a file, a pipe or a
// decompressor, entries come out with their data in the same slices, so an
// archive is never held whole nor copied to disk first. Archives (the outer
// docker-archive or oci-archive tar) and layers (the inner tars) both go
// through it.
import { OverlayError } from '../core/errors';

const BLOCK = 512;
const EINVAL = 22;

export type TarEntryType = 'file' | 'link' | 'symlink' | 'chardev' | 'blockdev' | 'directory' | 'fifo';

export interface TarEntry {
  /** The entry's name as its bytes (PAX and GNU long names applied). */
  name: Buffer;
  type: TarEntryType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, with a fraction when a PAX header gave one. */
  mtime: number;
  /** The link target, for a hard link or a symlink. */
  linkname: Buffer;
  devmajor: number;
  devminor: number;
  /** PAX SCHILY.xattr.* records: name -> value. */
  xattrs: Map<string, Buffer>;
}

/**
 * Where an entry's data goes: each slice as it passes, then `end` once it is
 * whole; or `abort` when the stream stops before that (a cut, a refusal
 * elsewhere): release what the sink holds (its fds), finishing nothing.
 */
export interface TarEntrySink {
  data(chunk: Buffer): void;
  end(): void;
  abort?(): void;
}

/** What the reader calls for each entry; undefined skips its data. */
export type TarEntryHandler = (entry: TarEntry) => TarEntrySink | undefined;

/**
 * Told every byte of the stream that no sink takes (headers, PAX and long
 * name records, the data of entries skipped, padding, the end blocks and
 * whatever follows them), in stream order: with the sinks' data, the stream
 * whole (tar-split.ts records a layer's tar this way).
 */
export type TarRawTap = (bytes: Buffer) => void;

const TYPES: Record<string, TarEntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'chardev', '4': 'blockdev', '5': 'directory', '6': 'fifo' };

function tarError(where: string, reason: string): OverlayError {
  return new OverlayError({ errno: EINVAL, field: where, reason });
}

function cString(buf: Buffer, start: number, length: number): Buffer {
  const field = buf.subarray(start, start + length);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

// Octal, or GNU base-256 (high bit set) for values past the octal field's reach.
function readNumber(buf: Buffer, start: number, length: number): number {
  if (buf[start] & 0x80) {
    let value = buf[start] & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + buf[i];
    return value;
  }
  const text = cString(buf, start, length).toString('latin1').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  return sum === readNumber(header, 148, 8);
}

// PAX records: "LEN key=value\n", LEN counting the whole record.
function parsePax(data: Buffer, into: Map<string, Buffer>): void {
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = space < 0 ? NaN : parseInt(data.toString('latin1', at, space), 10);
    if (!(len > 0) || at + len > data.length) throw tarError('archive', 'a PAX header record is malformed');
    const record = data.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw tarError('archive', 'a PAX header record has no "="');
    into.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    at += len;
  }
}

type State = 'header' | 'data' | 'meta' | 'padding' | 'done';

/**
 * Feed it bytes with `push`, then call `end`: it throws on a malformed or
 * truncated archive. `label` names the archive in errors.
 */
const nextUp = (x: number) => {
  const bits = new BigInt64Array(new Float64Array([x]).buffer);
  bits[0] += 1n;
  return new Float64Array(bits.buffer)[0];
};

/**
 * A PAX time ('1700000000.123456789') as the seconds fs.utimes takes: the
 * nearest double not below it, since libuv truncates what it is given to
 * whole nanoseconds (and then microseconds): the plain nearest double of a
 * time on a millisecond (x.876) is a hair below it and would be set as x.875999.
 */
export function paxTime(text: string): number {
  const [whole, frac = ''] = text.split('.');
  const sec = Number(whole);
  const nsec = Number(frac.slice(0, 9).padEnd(9, '0'));
  if (!(sec >= 0) || nsec === 0 || Number.isNaN(nsec)) return Number(text);
  let t = sec + nsec / 1e9;
  while (Math.trunc((t - sec) * 1e9) < nsec) t = nextUp(t);
  return t;
}

export class TarReader {
  private state: State = 'header';
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private remaining = 0;
  private padding = 0;
  private sink: TarEntrySink | undefined;
  private meta: Buffer[] = [];
  private metaKind = '';
  private pending = new Map<string, Buffer>();
  private globalPax = new Map<string, Buffer>();
  private zeroBlocks = 0;

  constructor(
    private readonly label: string,
    private readonly onEntry: TarEntryHandler,
    private readonly tap?: TarRawTap,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'done') {
        this.tap?.(chunk.subarray(at));
        return;
      }
      if (this.state === 'header') {
        const take = Math.min(BLOCK - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + take);
        this.tap?.(chunk.subarray(at, at + take));
        this.headerFill += take;
        at += take;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.onHeader();
        }
      } else if (this.state === 'padding') {
        const take = Math.min(this.padding, chunk.length - at);
        this.tap?.(chunk.subarray(at, at + take));
        this.padding -= take;
        at += take;
        if (this.padding === 0) this.state = 'header';
      } else {
        const take = Math.min(this.remaining, chunk.length - at);
        const slice = chunk.subarray(at, at + take);
        if (this.state === 'data' && this.sink) this.sink.data(slice);
        else {
          this.tap?.(slice);
          if (this.state === 'meta') this.meta.push(Buffer.from(slice));
        }
        this.remaining -= take;
        at += take;
        if (this.remaining === 0) this.finishBody();
      }
    }
  }

  /** The stream stops here, whole or not: the entry being read, if any, lets go of what it holds. */
  abort(): void {
    const sink = this.sink;
    this.sink = undefined;
    sink?.abort?.();
  }

  /** The stream ended: anything but a whole archive is an error. */
  end(): void {
    if (this.state === 'done') return;
    // Some writers stop after the last entry without the two zero blocks; a cut inside an entry is an error.
    if (this.state === 'header' && this.headerFill === 0 && this.pending.size === 0 && this.metaKind === '') return;
    throw tarError(this.label, `the tar stream ends in the middle of an entry: it is truncated`);
  }

  private onHeader(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      if (++this.zeroBlocks === 2) this.state = 'done';
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(h)) throw tarError(this.label, 'a tar header has a bad checksum: this is not a tar stream, or it is damaged');
    const typeflag = String.fromCharCode(h[156] || 0x30);
    const size = readNumber(h, 124, 12);
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      this.metaKind = typeflag;
      this.meta = [];
      this.state = 'meta';
      if (size === 0) this.finishBody();
      return;
    }
    const type = TYPES[typeflag];
    const entry = this.entryFrom(h, type, typeflag, size);
    // A PAX size overrides the header's (for data past the octal field's reach).
    this.remaining = entry.size;
    this.padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
    this.sink = this.onEntry(entry);
    this.state = 'data';
    if (entry.size === 0) this.finishBody();
  }

  private entryFrom(h: Buffer, type: TarEntryType | undefined, typeflag: string, size: number): TarEntry {
    const pax = new Map([...this.globalPax, ...this.pending]);
    this.pending = new Map();
    let name = cString(h, 0, 100);
    if (h.toString('latin1', 257, 262) === 'ustar') {
      const prefix = cString(h, 345, 155);
      if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
    }
    name = pax.get('path') ?? pax.get('GNU.longname') ?? Buffer.from(name);
    const linkname = pax.get('linkpath') ?? pax.get('GNU.longlink') ?? Buffer.from(cString(h, 157, 100));
    if (type === undefined) throw tarError(this.label, `entry '${name.toString()}' has tar type '${typeflag}', which is not supported`);
    const num = (key: string, fallback: number) => {
      const v = pax.get(key);
      return v === undefined ? fallback : Number(v.toString('latin1'));
    };
    const xattrs = new Map<string, Buffer>();
    for (const [key, value] of pax) if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    return {
      name,
      type,
      size: num('size', size),
      mode: readNumber(h, 100, 8) & 0o7777,
      uid: num('uid', readNumber(h, 108, 8)),
      gid: num('gid', readNumber(h, 116, 8)),
      mtime: pax.has('mtime') ? paxTime(pax.get('mtime')!.toString('latin1')) : readNumber(h, 136, 12),
      linkname,
      devmajor: readNumber(h, 329, 8),
      devminor: readNumber(h, 337, 8),
      xattrs,
    };
  }

  private finishBody(): void {
    if (this.state === 'data') {
      // Let go first: an entry whose end fails is not aborted again.
      const sink = this.sink;
      this.sink = undefined;
      sink?.end();
    } else {
      const body = Buffer.concat(this.meta);
      this.meta = [];
      if (this.metaKind === 'x') parsePax(body, this.pending);
      else if (this.metaKind === 'g') parsePax(body, this.globalPax);
      else this.pending.set(this.metaKind === 'L' ? 'GNU.longname' : 'GNU.longlink', cString(body, 0, body.length));
      this.metaKind = '';
    }
    this.state = this.padding > 0 ? 'padding' : 'header';
  }
}
