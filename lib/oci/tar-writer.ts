// The one writer of the tar format (its one reader: tar-reader.ts): ustar
// headers, with a PAX header before an entry whose name, link target, size,
// owner or time the ustar fields cannot hold (past 100 bytes, past their
// octal width, sub-second times), as `tar --format=posix` writes them. Used
// for a layer commit writes and for the archives save writes.

const BLOCK = 512;

export type TarWriteType = 'file' | 'link' | 'symlink' | 'chardev' | 'blockdev' | 'directory' | 'fifo';

const TYPEFLAG: Record<TarWriteType, string> = { file: '0', link: '1', symlink: '2', chardev: '3', blockdev: '4', directory: '5', fifo: '6' };

export interface TarHeader {
  /** The entry's name, bytes as they are; a directory's ends in '/'. */
  name: Buffer;
  type: TarWriteType;
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (files only). */
  size: number;
  /** Seconds and nanoseconds since the epoch. */
  mtimeSec: number;
  mtimeNsec?: number;
  /** A link's target (symlink) or the earlier entry's name (hard link). */
  linkname?: Buffer;
  devmajor?: number;
  devminor?: number;
  /** More PAX records to write before the entry (`SCHILY.xattr.NAME`...). */
  pax?: Record<string, Buffer>;
}

/** Two zero blocks: the end of a tar stream. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** The zero bytes that round `size` bytes of data up to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

// An octal field of `width` bytes (the last a NUL), or undefined when the value does not fit.
function octal(value: number, width: number): string | undefined {
  const text = value.toString(8);
  return text.length < width ? text.padStart(width - 1, '0') + '\0' : undefined;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const tail = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = tail.length + 1;
  while (String(len).length + tail.length !== len) len = String(len).length + tail.length;
  return Buffer.concat([Buffer.from(String(len)), tail]);
}

function block(name: Buffer, typeflag: string, fields: { mode: string; uid: string; gid: string; size: string; mtime: string }, linkname: Buffer, dev: [number, number]): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  h.write(fields.mode, 100, 'latin1');
  h.write(fields.uid, 108, 'latin1');
  h.write(fields.gid, 116, 'latin1');
  h.write(fields.size, 124, 'latin1');
  h.write(fields.mtime, 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(typeflag, 156, 'latin1');
  linkname.copy(h, 157, 0, Math.min(linkname.length, 100));
  h.write('ustar\u000000', 257, 'latin1');
  h.write(octal(dev[0], 8) ?? '0000000\0', 329, 'latin1');
  h.write(octal(dev[1], 8) ?? '0000000\0', 337, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7)! + ' ', 148, 'latin1');
  return h;
}

/** The header block(s) of one entry: a PAX header first when the ustar fields cannot hold it. */
export function tarHeader(e: TarHeader): Buffer {
  const linkname = e.linkname ?? Buffer.alloc(0);
  const pax: Buffer[] = [];
  const field = (key: string, value: number, width: number) => {
    const text = octal(value, width);
    if (text !== undefined) return text;
    pax.push(paxRecord(key, Buffer.from(String(value))));
    return '0'.repeat(width - 1) + '\0';
  };
  const fields = {
    mode: octal(e.mode & 0o7777, 8)!,
    uid: field('uid', e.uid, 8),
    gid: field('gid', e.gid, 8),
    size: field('size', e.size, 12),
    mtime: field('mtime', e.mtimeSec, 12),
  };
  if (e.mtimeNsec && pax.every((r) => !r.includes(' mtime='))) {
    pax.push(paxRecord('mtime', Buffer.from(`${e.mtimeSec}.${String(e.mtimeNsec).padStart(9, '0').replace(/0+$/, '')}`)));
  }
  for (const [key, value] of Object.entries(e.pax ?? {})) pax.push(paxRecord(key, value));
  if (e.name.length > 100 && e.pax?.path === undefined) pax.push(paxRecord('path', e.name));
  if (linkname.length > 100 && e.pax?.linkpath === undefined) pax.push(paxRecord('linkpath', linkname));
  const dev: [number, number] = [e.devmajor ?? 0, e.devminor ?? 0];
  const main = block(e.name, TYPEFLAG[e.type], fields, linkname, dev);
  if (pax.length === 0) return main;
  const body = Buffer.concat(pax);
  const zero = '0000000\0';
  const paxHead = block(Buffer.from('PaxHeader'), 'x', { mode: '0000644\0', uid: zero, gid: zero, size: octal(body.length, 12)!, mtime: '00000000000\0' }, Buffer.alloc(0), [0, 0]);
  return Buffer.concat([paxHead, body, tarPadding(body.length), main]);
}
