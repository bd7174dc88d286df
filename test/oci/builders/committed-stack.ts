// The stack the commit tests commit: a base image unpacked into a store,
// mounted with an upper, and changed through the mount (a file added, a file
// replaced, a directory deleted, a directory made opaque, a hard link, a
// setuid file, a symlink, a file deleted, a time on a whole millisecond,
// extended attributes on a file, a directory and a file with a capability).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Test } from 'tap';
import { mount, unpackSync } from '../../../lib/index';
import { archive, dockerArchiveFiles } from './image-archives';
import { unmountAtEnd } from '../../helpers/mounts';
import type { Scratch } from '../../helpers/scratch';
import { tar } from './tar-writer';
import { setXattrs } from '../../helpers/xattr';

export const BASE_REF = 'example.com/base:1';

const base = tar([
  { name: 'etc/', type: 'dir', mtime: 1_600_000_000 },
  { name: 'etc/a', content: 'alpha', uid: 1000, gid: 1001, mtime: 1_600_000_001 },
  { name: 'etc/gone', content: 'to be deleted' },
  { name: 'd/sub/f', content: 'deep' },
  { name: 'o/old', content: 'hidden by the opaque dir' },
  { name: 'usr/bin/tool', content: 'tool', mode: 0o755 },
]);

/** Unpacks the base image into `store`. */
export function storeWithBase(s: Scratch, store: string): void {
  fs.writeFileSync(s.path('base.tar'), archive(dockerArchiveFiles([{ ref: BASE_REF, layers: [base] }])));
  unpackSync(s.path('base.tar'), { store });
}

/** Changes made through a mounted stack's target. */
export function changeThrough(target: string): void {
  fs.mkdirSync(`${target}/new`);
  fs.writeFileSync(`${target}/new/file`, 'added');
  fs.chownSync(`${target}/new/file`, 1000, 1001);
  fs.chmodSync(`${target}/new/file`, 0o640);
  // A time on a whole millisecond, as kernels with coarse timestamps give: read back from a PAX time, it must not come out a hair below.
  fs.writeFileSync(`${target}/new/on-a-millisecond`, 'ms');
  execFileSync('touch', ['-h', '-d', '@1796668113.876', `${target}/new/on-a-millisecond`]);
  fs.writeFileSync(`${target}/etc/a`, 'replaced');
  fs.rmSync(`${target}/etc/gone`);
  fs.rmSync(`${target}/d`, { recursive: true });
  fs.rmSync(`${target}/o`, { recursive: true });
  fs.mkdirSync(`${target}/o`);
  fs.writeFileSync(`${target}/o/fresh`, 'fresh');
  fs.linkSync(`${target}/usr/bin/tool`, `${target}/usr/bin/tool2`);
  fs.writeFileSync(`${target}/usr/bin/su`, 'su');
  fs.chmodSync(`${target}/usr/bin/su`, 0o4755);
  fs.symlinkSync('tool', `${target}/usr/bin/alias`);
  setXattrs(`${target}/new/file`, { 'user.note': 'kept', 'trusted.label': 'root only' });
  setXattrs(`${target}/new`, { 'user.dir': 'a directory' });
  fs.writeFileSync(`${target}/usr/bin/ping`, 'ping');
  setXattrs(`${target}/usr/bin/ping`, { 'security.capability': CAP_NET_RAW });
}

// vfs_cap_data revision 2, effective, permitted cap_net_raw: what `setcap cap_net_raw+ep` writes.
const CAP_NET_RAW = Buffer.from([0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

/** The base image in `store`, mounted at a new target with an upper, and changed through it. */
export async function mountedChangedStack(t: Test, s: Scratch, store: string): Promise<string> {
  storeWithBase(s, store);
  const [target, upper, work] = s.mkdirs('stack', 'upper', 'work');
  unmountAtEnd(t, await mount({ lower: [{ oci: store, ref: BASE_REF }], upper, work, target }));
  changeThrough(target);
  return target;
}
