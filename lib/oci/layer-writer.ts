// One layer's tar entries written into a fresh directory, refusing what a
// hostile archive could use to write outside it: absolute names, `..`,
// a path through a symlink or a file, a symlink whose relative target climbs
// out of the layer, a hard link to anything but an earlier entry of the same
// layer, names past PATH_MAX. The directory is new and only this writer
// fills it, so it keeps the type of every path it made and never asks the
// file system to resolve a name it did not check. Entries are written with
// the synchronous fs calls between two reads of the stream (a Promise unpack
// waits only on the reads): one call per step, no thread-pool hop per file.
// Devices, fifos and extended attributes, which Node's fs cannot make, go
// through the addon (native/oci/); overlay's own
// attributes are refused, since a layer carrying them would steer the
// overlay it is mounted in (a redirect, a metacopy, an opaque mark).
import fs from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { OverlayError } from '../core/errors';
import { native } from '../core/native';
import type { TarEntry, TarEntrySink } from './tar-reader';
import type { NativeNodeType } from '../core/native';
import { isOverlayXattr } from './layer-xattrs';

const EINVAL = 22;
const ENAMETOOLONG = 36;
const PATH_MAX = 4096;
const NAME_MAX = 255;
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

type Kind = 'dir' | 'file' | 'symlink' | 'other';

/** Where a regular file's data goes, and the file's path from the layer's root. */
export interface LayerFileSink extends TarEntrySink {
  rel: string;
}

function refuse(entry: string, reason: string, errno = EINVAL): OverlayError {
  return new OverlayError({ errno, field: 'archive', subject: entry, reason: `layer entry '${entry}' ${reason}` });
}

// 'a/./b/' -> ['a', 'b']; refused when it cannot name a path inside the layer.
function components(raw: Buffer, what: string): string[] | undefined {
  const name = raw.toString('utf8');
  if (name.startsWith('/')) throw refuse(name, `${what} is an absolute name`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse(name, `${what} holds '..'`);
  if (parts.some((p) => Buffer.byteLength(p) > NAME_MAX)) throw refuse(name, `${what} has a name part past NAME_MAX (${NAME_MAX} bytes)`, ENAMETOOLONG);
  return parts;
}

// Whether a relative symlink target, followed from the link's directory, stays within the layer.
function staysInside(parentDepth: number, target: string): boolean {
  let depth = parentDepth;
  for (const part of target.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) return false;
  }
  return true;
}

export class LayerWriter {
  private readonly kinds = new Map<string, Kind>([['', 'dir']]);
  private readonly dirTimes: [string, number][] = [];
  private readonly rootBytes: number;
  /** Set once a later entry replaced an earlier one of the same name. */
  replaced = false;

  /** `storedBytes`: the length of the path the layer will have in the store, when longer than `root`'s. */
  constructor(
    private readonly root: string,
    storedBytes = 0,
  ) {
    this.rootBytes = Math.max(Buffer.byteLength(root), storedBytes);
  }

  /** Writes one entry; a regular file's data follows through the sink returned. */
  entry(e: TarEntry): LayerFileSink | undefined {
    const shown = e.name.toString('utf8');
    const parts = components(e.name, 'the name');
    if (parts === undefined) return undefined;
    const rel = parts.join('/');
    if (this.rootBytes + 1 + Buffer.byteLength(rel) >= PATH_MAX) throw refuse(shown, `is past PATH_MAX (${PATH_MAX} bytes) once in the store`, ENAMETOOLONG);
    if (rel === '') {
      if (e.type !== 'directory') throw refuse(shown, 'names the layer root but is not a directory');
      this.setMeta(this.root, e, false);
      this.dirTimes.push([this.root, e.mtime]);
      return undefined;
    }
    this.ensureParents(parts, shown);
    const path = `${this.root}/${rel}`;
    this.clearForNew(rel, path, e.type === 'directory');
    switch (e.type) {
      case 'directory':
        if (this.kinds.get(rel) !== 'dir') fs.mkdirSync(path, { mode: 0o700 });
        this.kinds.set(rel, 'dir');
        this.setMeta(path, e, false);
        this.dirTimes.push([path, e.mtime]);
        return undefined;
      case 'symlink': {
        const target = e.linkname.toString('utf8');
        if (!target.startsWith('/') && !staysInside(parts.length - 1, target)) throw refuse(shown, `is a symlink to '${target}', which leads out of the layer`);
        fs.symlinkSync(e.linkname, path);
        this.kinds.set(rel, 'symlink');
        this.setMeta(path, e, true);
        return undefined;
      }
      case 'link': {
        const target = components(e.linkname, `the hard link target '${e.linkname.toString()}' of`)!.join('/');
        const kind = this.kinds.get(target);
        if (kind === undefined || kind === 'dir') throw refuse(shown, `is a hard link to '${e.linkname.toString()}', which is not an earlier file of this layer`);
        fs.linkSync(`${this.root}/${target}`, path);
        this.kinds.set(rel, kind);
        return undefined;
      }
      case 'file':
        return this.file(rel, path, e);
      default:
        this.node(path, e, shown);
        this.kinds.set(rel, 'other');
        this.setMeta(path, e, false);
        return undefined;
    }
  }

  /** Directory times last, deepest first: making their entries changed them. */
  finish(): void {
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const [path, mtime] = this.dirTimes[i];
      fs.utimesSync(path, mtime, mtime);
    }
  }

  private file(rel: string, path: string, e: TarEntry): LayerFileSink {
    const fd = fs.openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    let open = true;
    this.kinds.set(rel, 'file');
    return {
      rel,
      data: (chunk) => {
        let at = 0;
        while (at < chunk.length) at += fs.writeSync(fd, chunk, at, chunk.length - at);
      },
      abort: () => {
        if (open) fs.closeSync(fd);
        open = false;
      },
      end: () => {
        try {
          fs.fchownSync(fd, e.uid, e.gid);
          fs.fchmodSync(fd, e.mode);
          fs.futimesSync(fd, e.mtime, e.mtime);
        } finally {
          open = false;
          fs.closeSync(fd);
        }
        this.setXattrs(path, e);
      },
    };
  }

  // Parents the archive did not list are made as tar makes them; a parent that is not a directory is refused.
  private ensureParents(parts: string[], shown: string): void {
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      rel = rel === '' ? parts[i] : `${rel}/${parts[i]}`;
      const kind = this.kinds.get(rel);
      if (kind === 'dir') continue;
      if (kind !== undefined) throw refuse(shown, `lies beneath '${rel}', which is a ${kind === 'symlink' ? 'symlink' : 'file'} in this layer`);
      fs.mkdirSync(`${this.root}/${rel}`, { mode: 0o755 });
      this.kinds.set(rel, 'dir');
    }
  }

  // A later entry of the same name replaces an earlier one, as tar does; a directory stays for a directory.
  private clearForNew(rel: string, path: string, isDir: boolean): void {
    const kind = this.kinds.get(rel);
    if (kind === undefined || (kind === 'dir' && isDir)) return;
    this.replaced = true;
    fs.rmSync(path, { recursive: true });
    for (const key of [...this.kinds.keys()]) if (key === rel || key.startsWith(`${rel}/`)) this.kinds.delete(key);
  }

  private setMeta(path: string, e: TarEntry, isLink: boolean): void {
    if (isLink) {
      fs.lchownSync(path, e.uid, e.gid);
      fs.lutimesSync(path, e.mtime, e.mtime);
    } else {
      fs.chownSync(path, e.uid, e.gid);
      fs.chmodSync(path, e.mode);
    }
    this.setXattrs(path, e);
  }

  // A device needs CAP_MKNOD (and a filesystem that allows devices): refused naming the entry when it cannot be made.
  private node(path: string, e: TarEntry, shown: string): void {
    try {
      native.makeLayerNodeSync(path, e.type as NativeNodeType, e.mode, e.devmajor, e.devminor);
    } catch (err) {
      const errno = errnoOf(err);
      throw refuse(shown, `is a ${e.type} that cannot be made here (mknod: ${getSystemErrorName(-errno)})`, errno);
    }
  }

  // After the owner: chown clears security.capability.
  private setXattrs(path: string, e: TarEntry): void {
    const shown = e.name.toString();
    for (const [name, value] of e.xattrs) {
      if (isOverlayXattr(name)) throw refuse(shown, `carries '${name}', an attribute of overlay's own, which would steer the overlay it is mounted in`);
      try {
        native.writeXattrSync(path, name, value);
      } catch (err) {
        const errno = errnoOf(err);
        throw refuse(shown, `carries the attribute '${name}', which could not be set here (lsetxattr: ${getSystemErrorName(-errno)})`, errno);
      }
    }
  }
}


// The addon's errors carry a negative errno, as Node's fs errors do.
function errnoOf(err: unknown): number {
  const errno = (err as { errno?: number }).errno;
  if (typeof errno !== 'number') throw err;
  return Math.abs(errno);
}
