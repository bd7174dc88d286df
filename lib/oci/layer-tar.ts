// A layer directory in overlay form (an upper, or a layer of the store)
// written as a tar stream in OCI form, the form toOci gives a directory:
// a whiteout (char device 0/0, or an xattr whiteout) becomes an empty
// `.wh.NAME`, an opaque directory gets `.wh..wh..opq` first thing inside it.
// Entries go in name order, each directory before what it holds; a name met
// again on the same inode is a hard link to the first; sockets, which a tar
// cannot hold, are left out and listed. Each entry's extended attributes go
// in PAX records, overlay's own left out (layer-xattrs.ts). Read with synchronous fs calls
// (a file that fits one read too: awaiting each would cost a thread-pool
// round trip per file); only a file past one read is read awaited.
import fs from 'node:fs';
import { isOpaqueSync } from '../layers/opaque';
import { isWhiteoutSync } from '../layers/whiteout';
import { fsStep, step, type Walk } from '../core/sync-or-async';
import { xattrRecords } from './layer-xattrs';
import { TAR_END, tarHeader, tarPadding, type TarHeader, type TarWriteType } from './tar-writer';

const CHUNK = 1024 * 1024;
const OPAQUE_MARKER = '.wh..wh..opq';

export interface LayerTarOptions {
  /** Read user.overlay.* marks instead of trusted.overlay.*. */
  userxattr: boolean;
  /** Takes each slice of the tar stream, in order, as it is made. */
  out: (bytes: Buffer) => void;
}

export interface LayerTarResult {
  /** Paths (from the layer's root) left out: sockets. */
  skipped: string[];
}

function typeOf(st: fs.BigIntStats): TarWriteType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

// glibc's dev_t split (major: bits 8-19 and 32-43; minor: bits 0-7 and 20-31).
function deviceNumbers(rdev: bigint): [number, number] {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return [major, minor];
}

function headerOf(name: string, type: TarWriteType, st: fs.BigIntStats, size: number, linkname?: string, pax?: Record<string, Buffer>): TarHeader {
  const [devmajor, devminor] = type === 'chardev' || type === 'blockdev' ? deviceNumbers(st.rdev) : [0, 0];
  return {
    name: Buffer.from(name),
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size,
    mtimeSec: Number(st.mtimeNs / 1_000_000_000n),
    mtimeNsec: Number(st.mtimeNs % 1_000_000_000n),
    ...(linkname === undefined ? {} : { linkname: Buffer.from(linkname) }),
    ...(pax === undefined ? {} : { pax }),
    devmajor,
    devminor,
  };
}

function readStep(fd: number, buf: Buffer, length: number) {
  return fsStep(
    () => fs.readSync(fd, buf, 0, length, null),
    () => new Promise<number>((resolve, reject) => fs.read(fd, buf, 0, length, null, (err, n) => (err ? reject(err) : resolve(n)))),
  );
}

// A file's data: exactly the size its header gave, zeros after an early end (a file that shrank meanwhile).
function* fileData(path: string, size: number, buf: Buffer, out: (b: Buffer) => void): Walk<void> {
  const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    let left = size;
    while (left > 0) {
      const length = Math.min(buf.length, left);
      // A file that fits one read is read at once, as tar does; a bigger one is read awaited, a slice at a time.
      const n = size <= buf.length ? fs.readSync(fd, buf, 0, length, null) : yield* step(readStep(fd, buf, length));
      if (n === 0) break;
      out(Buffer.from(buf.subarray(0, n)));
      left -= n;
    }
    if (left > 0) out(Buffer.alloc(left));
  } finally {
    fs.closeSync(fd);
  }
  out(tarPadding(size));
}

/** Writes the layer directory `root` as an OCI layer tar to `options.out`, ending with the two zero blocks. */
export function* writeLayerTar(root: string, options: LayerTarOptions): Walk<LayerTarResult> {
  const { out, userxattr } = options;
  const marks = { userxattr };
  const skipped: string[] = [];
  const firstName = new Map<string, string>();
  const buf = Buffer.allocUnsafe(CHUNK);

  function* entry(rel: string, path: string, st: fs.BigIntStats): Walk<void> {
    const type = typeOf(st);
    if (type === undefined) {
      skipped.push(rel);
      return;
    }
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    const dir = rel.slice(0, rel.length - base.length);
    const whiteout = (type === 'chardev' && st.rdev === 0n) || (type === 'file' && st.size === 0n && isWhiteoutSync(path, marks) === 'xattr');
    if (whiteout) {
      out(tarHeader(headerOf(`${dir}.wh.${base}`, 'file', st, 0)));
      return;
    }
    if (type === 'directory') {
      out(tarHeader(headerOf(`${rel}/`, type, st, 0, undefined, xattrRecords(path))));
      if (isOpaqueSync(path, marks) === 'y') out(tarHeader(headerOf(`${rel}/${OPAQUE_MARKER}`, 'file', st, 0)));
      yield* children(`${rel}/`, path);
      return;
    }
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = firstName.get(key);
      if (first !== undefined) {
        out(tarHeader(headerOf(rel, 'link', st, 0, first)));
        return;
      }
      firstName.set(key, rel);
    }
    if (type === 'symlink') {
      out(tarHeader(headerOf(rel, type, st, 0, fs.readlinkSync(path), xattrRecords(path))));
      return;
    }
    const size = type === 'file' ? Number(st.size) : 0;
    out(tarHeader(headerOf(rel, type, st, size, undefined, xattrRecords(path))));
    if (size > 0) yield* fileData(path, size, buf, out);
  }

  function* children(prefix: string, dirPath: string): Walk<void> {
    for (const name of fs.readdirSync(dirPath).sort()) {
      const path = `${dirPath}/${name}`;
      yield* entry(`${prefix}${name}`, path, fs.lstatSync(path, { bigint: true }));
    }
  }

  const top = fs.lstatSync(root, { bigint: true });
  // The root as './': its own owner, mode and time, and a first entry no reader takes for anything but a tar.
  out(tarHeader(headerOf('./', 'directory', top, 0, undefined, xattrRecords(root))));
  if (isOpaqueSync(root, marks) === 'y') out(tarHeader(headerOf(`./${OPAQUE_MARKER}`, 'file', top, 0)));
  yield* children('', root);
  out(TAR_END);
  return { skipped };
}
