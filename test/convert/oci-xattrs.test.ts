// toOci keeps extended attributes: every one but the overlay's own, binary
// and 64 KiB values, on files, directories and symlinks, file capabilities
// after the chown that would clear them; a destination that refuses one
// lists it in `skipped`.
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { mount, toOci, toOciSync, type ToOciOptions, type ToOciResult } from '../../lib/index';
import { mountTmpfs } from '../helpers/filesystems';
import { needsRoot, whyNoTmpfsUserXattrs } from '../helpers/layer';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';
import { testAddon } from '../helpers/test-addon';
import { setXattrs, xattrNamesBeneath, xattrsOf } from '../helpers/xattr';

type Convert = (upper: string, dest: string, options?: ToOciOptions) => Promise<ToOciResult>;
const DRIVERS: Array<[string, Convert]> = [
  ['toOci', toOci],
  ['toOciSync', async (upper, dest, options) => toOciSync(upper, dest, options)],
];

// VFS_CAP_REVISION_2 with the effective flag, permitted CAP_NET_BIND_SERVICE (bit 10): what `setcap cap_net_bind_service+ep` writes.
const CAPABILITY = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const BIG = Buffer.alloc(64 * 1024, 'x');
// A POSIX ACL as the kernel stores it: version 2, then (tag, perm, id) sorted by tag: owner rwx, user 1000 r, group r-x, mask r-x, other r-x.
const ACL = Buffer.concat([
  u32(2),
  ...[[0x01, 7, -1], [0x02, 4, 1000], [0x04, 5, -1], [0x10, 5, -1], [0x20, 5, -1]].map(([tag, perm, id]) => Buffer.concat([u16(tag as number), u16(perm as number), u32((id as number) >>> 0)])),
]);
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
const MANY = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`user.name-${String(i).padStart(3, '0')}-of-a-longer-list`, `v${i}`]));

// These layers live on a tmpfs and carry user.* xattrs; older kernels run only the error-shape test.
const needsUserXattrs = { skip: needsRoot.skip || whyNoTmpfsUserXattrs() };
const needsOverlayAndUserXattrs = { skip: needsOverlay.skip || whyNoTmpfsUserXattrs() };

for (const [name, convert] of DRIVERS) {
  t.test(`${name} keeps every xattr but the overlay's own`, needsUserXattrs, async (t) => {
    const s = scratch(t);
    const fsRoot = mountTmpfs(s, 'fs');
    const upper = `${fsRoot}/upper`;
    fs.mkdirSync(`${upper}/d`, { recursive: true });
    fs.writeFileSync(`${upper}/tool`, 'binary');
    fs.writeFileSync(`${upper}/many`, 'many names');
    fs.symlinkSync('tool', `${upper}/link`);
    fs.chownSync(`${upper}/tool`, 1234, 5678);
    fs.chmodSync(`${upper}/tool`, 0o755);
    const kept = { 'user.plain': Buffer.from('hello'), 'trusted.mine': Buffer.from('t'), 'user.binary': BINARY, 'user.big': BIG, 'user.overlay.not-ours': Buffer.from('a user.* name when marks are trusted.*'), 'security.capability': CAPABILITY };
    setXattrs(`${upper}/tool`, { ...kept, 'trusted.overlay.origin': 'x', 'trusted.overlay.metacopy': '' });
    setXattrs(`${upper}/many`, MANY);
    setXattrs(`${upper}/link`, { 'trusted.on-link': 'l', 'trusted.overlay.redirect': '/elsewhere' });
    fs.writeFileSync(`${upper}/d/child`, 'inherits nothing');
    fs.chmodSync(`${upper}/d`, 0o755);
    setXattrs(`${upper}/d`, { 'user.dir': 'd', 'system.posix_acl_access': ACL, 'system.posix_acl_default': ACL, 'trusted.overlay.opaque': 'y', 'trusted.overlay.impure': 'y' });
    setXattrs(upper, { 'user.root': 'r', 'trusted.overlay.origin': 'o' });

    const { skipped } = await convert(upper, `${fsRoot}/oci`);
    t.same(skipped, []);
    const oci = `${fsRoot}/oci`;
    t.same(xattrsOf(`${oci}/tool`), kept, 'user.*, trusted.*, binary, 64 KiB and security.capability values kept');
    t.same(Object.keys(xattrsOf(`${oci}/many`)).sort(), Object.keys(MANY).sort(), `${Object.keys(MANY).length} names`);
    t.same(xattrsOf(`${oci}/link`), { 'trusted.on-link': Buffer.from('l') }, 'on the symlink itself');
    t.same(xattrsOf(`${oci}/tool`)['security.capability'], CAPABILITY, 'the capability survives the chown');
    t.same([fs.statSync(`${oci}/tool`).uid, fs.statSync(`${oci}/tool`).mode & 0o7777], [1234, 0o755]);
    t.same(xattrsOf(`${oci}/d`), { 'user.dir': Buffer.from('d'), 'system.posix_acl_access': ACL, 'system.posix_acl_default': ACL }, 'ACLs kept');
    t.same(xattrsOf(`${oci}/d/child`), {}, "set after the directory is filled, the default ACL is not inherited by what the upper's child lacks");
    t.ok(fs.existsSync(`${oci}/d/.wh..wh..opq`), 'the opaque mark becomes the OCI marker');
    t.same(xattrsOf(oci), { 'user.root': Buffer.from('r') }, 'the root entry too');
    t.same(xattrNamesBeneath(oci).filter((n) => n.includes('trusted.overlay.')), [], 'no overlay mark leaks');
  });

  t.test(`${name} with userxattr leaves user.overlay.* behind and keeps trusted.overlay.*`, needsUserXattrs, async (t) => {
    const s = scratch(t);
    const fsRoot = mountTmpfs(s, 'fs');
    fs.mkdirSync(`${fsRoot}/upper/d`, { recursive: true });
    setXattrs(`${fsRoot}/upper/d`, { 'user.overlay.opaque': 'y', 'user.overlay.origin': 'o', 'trusted.overlay.foreign': 'f', 'user.keep': 'k' });
    await convert(`${fsRoot}/upper`, `${fsRoot}/oci`, { userxattr: true });
    t.same(xattrsOf(`${fsRoot}/oci/d`), { 'trusted.overlay.foreign': Buffer.from('f'), 'user.keep': Buffer.from('k') });
    t.ok(fs.existsSync(`${fsRoot}/oci/d/.wh..wh..opq`));
  });

  t.test(`${name} to a destination that refuses xattrs lists each one in skipped`, needsUserXattrs, async (t) => {
    const s = scratch(t);
    const upper = mountTmpfs(s, 'upper');
    const ramfs = mountTmpfs(s, 'ramfs', 'ramfs');
    fs.writeFileSync(`${upper}/f`, 'content');
    fs.symlinkSync('f', `${upper}/link`);
    setXattrs(`${upper}/f`, { 'user.a': 'a', 'security.capability': CAPABILITY, 'trusted.overlay.origin': 'private, so not asked for' });
    setXattrs(`${upper}/link`, { 'trusted.l': 'l' });
    const { skipped } = await convert(upper, ramfs);
    const refused = (path: string, xattr: string) => ({ path, xattr, reason: `xattr '${xattr}' not kept: the destination refused it (ENOTSUP)` });
    t.same(
      [...skipped].sort((a, b) => `${a.path} ${a.xattr}`.localeCompare(`${b.path} ${b.xattr}`)),
      [refused('/f', 'security.capability'), refused('/f', 'user.a'), refused('/link', 'trusted.l')],
    );
    t.equal(fs.readFileSync(`${ramfs}/f`, 'utf8'), 'content', 'the entries themselves are written');
    t.equal(fs.readlinkSync(`${ramfs}/link`), 'f');
  });
}

// The marks a real mount writes: origin and impure on copy-up, redirect on a directory rename, whiteouts on delete.
async function upperMadeByTheKernel(t: Test, root: string): Promise<string> {
  for (const dir of ['lower/dir/sub', 'upper', 'work', 'merged']) fs.mkdirSync(`${root}/${dir}`, { recursive: true });
  fs.writeFileSync(`${root}/lower/dir/file`, 'from the lower');
  fs.writeFileSync(`${root}/lower/dir/gone`, 'deleted above');
  const m = await mount({ lower: [`${root}/lower`], upper: `${root}/upper`, work: `${root}/work`, target: `${root}/merged`, redirectDir: 'on' });
  unmountAtEnd(t, m);
  setXattrs(`${root}/merged/dir/file`, { 'user.note': 'set through the mount' });
  fs.rmSync(`${root}/merged/dir/gone`);
  fs.renameSync(`${root}/merged/dir/sub`, `${root}/merged/moved`);
  await m.unmount();
  return `${root}/upper`;
}

t.test('an upper the kernel wrote: its user xattrs are kept, none of its trusted.overlay.* marks', needsOverlayAndUserXattrs, async (t) => {
  const s = scratch(t);
  const fsRoot = mountTmpfs(s, 'fs');
  const upper = await upperMadeByTheKernel(t, fsRoot);
  const marks = xattrNamesBeneath(upper).filter((n) => n.includes('trusted.overlay.'));
  t.ok(marks.some((n) => n.endsWith('.origin')) && marks.some((n) => n.endsWith('.redirect')), `the kernel marked the upper: ${marks.join(', ')}`);
  const { skipped } = await toOci(upper, `${fsRoot}/oci`);
  t.same(skipped, []);
  t.same(xattrNamesBeneath(`${fsRoot}/oci`), ['dir/file: user.note']);
  t.ok(fs.existsSync(`${fsRoot}/oci/dir/.wh.gone`), 'the whiteout is an OCI one');
});

t.test('the xattr calls fail with an OverlayError naming the call, the path and the field', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ f: '' });
  t.throws(() => testAddon().readXattrsSync(s.path('missing')), { name: 'OverlayError', code: 'ENOENT', syscall: 'llistxattr', path: s.path('missing'), field: 'path' });
  t.throws(() => testAddon().writeXattrSync(s.path('f'), 'nonsense.x', Buffer.from('v')), { code: 'ENOTSUP', syscall: 'lsetxattr', message: /'nonsense\.x'/ });
  t.throws(() => testAddon().writeXattrSync(s.path('f'), 'user.x', 'v' as unknown as Buffer), { name: 'TypeError', message: 'value must be a Buffer' });
});
