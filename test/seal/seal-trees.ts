// The trees the seal tests seal, and each tree listed entry for entry as a
// mount of its sealed image must show it again: type, mode, owner, size,
// content, symlink target, device, nanosecond mtime, link count and the
// xattrs (overlay's own left out: the kernel hides them in a mount).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { setXattrs, xattrsOf } from '../helpers/xattr';

/** A tree with one entry of each kind sealing must keep, at `root` (made here). */
export function makeRichTree(root: string): void {
  const at = (rel: string): string => path.join(root, rel);
  fs.mkdirSync(at('etc/deep/er'), { recursive: true });
  fs.writeFileSync(at('etc/hostname'), 'sealed\n');
  fs.writeFileSync(at('etc/deep/er/big'), randomBytes(3 * 1024 * 1024 + 123));
  fs.writeFileSync(at('empty'), '');
  fs.writeFileSync(at('setuid'), '#!/bin/sh\n');
  fs.chmodSync(at('setuid'), 0o4755);
  fs.linkSync(at('etc/hostname'), at('hardlink'));
  fs.symlinkSync('etc/hostname', at('link'));
  fs.symlinkSync('/nowhere/at/all', at('dangling'));
  execFileSync('mkfifo', [at('fifo')]);
  execFileSync('mknod', [at('null'), 'c', '1', '3']);
  fs.writeFileSync(at('owned'), 'owned by 1234:5678');
  fs.chownSync(at('owned'), 1234, 5678);
  fs.lchownSync(at('link'), 42, 43);
  fs.chmodSync(at('etc/deep'), 0o750);
  setXattrs(at('etc/hostname'), { 'user.comment': 'kept', 'trusted.kept': Buffer.from([0, 1, 2]) });
  setXattrs(at('etc/deep'), { 'trusted.dir': 'on a directory', 'trusted.overlay.opaque': 'y' });
  setXattrs(at('link'), { 'trusted.on-link': 'symlink' });
  setXattrs(at('setuid'), { 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') });
  for (const [rel, ns] of [['etc/hostname', 1000000000123456789n], ['etc/deep/er/big', 1234567890987654321n], ['etc/deep', 987654321000000001n], ['', 1500000000000000007n]] as const) {
    const seconds = Number(ns / 1000000000n) + Number(ns % 1000000000n) / 1e9;
    fs.utimesSync(at(rel), seconds, seconds);
  }
}

/** A POSIX ACL in its xattr form: version 2, then (tag, perm, id) entries. */
export function aclValue(entries: Array<[number, number, number]>): Buffer {
  const acl = Buffer.alloc(4 + entries.length * 8);
  acl.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    acl.writeUInt16LE(tag, 4 + i * 8);
    acl.writeUInt16LE(perm, 6 + i * 8);
    acl.writeUInt32LE(id, 8 + i * 8);
  });
  return acl;
}

export interface Entry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  nlink?: number;
  mtimeNs?: bigint;
  content?: string;
  target?: string;
  rdev?: number;
  xattrs: Record<string, string>;
}

function typeOf(st: fs.BigIntStats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'socket';
}

/** Every entry beneath `root` (the root as ''), keyed by its path. */
export function listTree(root: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const visit = (rel: string): void => {
    const file = path.join(root, rel);
    const st = fs.lstatSync(file, { bigint: true });
    const type = typeOf(st);
    const xattrs = Object.fromEntries(Object.entries(xattrsOf(file)).filter(([name]) => !name.startsWith('trusted.overlay.')).map(([name, value]) => [name, value.toString('hex')]));
    const entry: Entry = { type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), xattrs };
    // A directory's size and link count are its filesystem's own.
    if (type !== 'dir') {
      entry.size = Number(st.size);
      entry.nlink = Number(st.nlink);
    }
    entry.mtimeNs = st.mtimeNs;
    if (type === 'file') entry.content = fs.readFileSync(file).toString('base64');
    if (type === 'symlink') entry.target = fs.readlinkSync(file);
    if (type === 'char' || type === 'block') entry.rdev = Number(st.rdev);
    out[rel] = entry;
    if (type === 'dir') for (const name of fs.readdirSync(file).sort()) visit(rel ? `${rel}/${name}` : name);
  };
  visit('');
  return out;
}

/** The store's files, as paths relative to it. */
export function storeFiles(store: string): string[] {
  return (fs.readdirSync(store, { recursive: true }) as string[]).filter((rel) => fs.statSync(path.join(store, rel)).isFile()).sort();
}
