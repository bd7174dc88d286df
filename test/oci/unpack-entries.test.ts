// The entries Node's fs cannot make, unpacked as the layer says: char and
// block devices, fifos, and extended attributes on files, directories and
// symlinks (security.capability after the owner, which would clear it). A
// device that cannot be made here (no CAP_MKNOD) is refused naming the entry,
// and the store stays as it was.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { unpack, unpackSync } from '../../lib/index';
import { archive, dockerArchiveFiles } from './builders/image-archives';
import { nodeCommand } from '../helpers/child-env';
import { setprivMissing } from '../helpers/env';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';
import { xattrsOf } from '../helpers/xattr';
import { tar } from './builders/tar-writer';

const REF = 'example.com/nodes:1';
// vfs_cap_data revision 2, effective, permitted cap_net_raw (13): the bytes setcap writes for `cap_net_raw+ep`.
const CAP_NET_RAW = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

const layer = tar([
  { name: 'dev/', type: 'dir' },
  { name: 'dev/null', type: 'chardev', device: [1, 3], mode: 0o666 },
  { name: 'dev/loop9', type: 'blockdev', device: [7, 9], mode: 0o660, gid: 6 },
  { name: 'run/pipe', type: 'fifo', mode: 0o620, uid: 1000 },
  { name: 'bin/ping', content: 'ELF', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': CAP_NET_RAW.toString('latin1'), 'SCHILY.xattr.user.note': 'pinged' } },
  { name: 'etc/', type: 'dir', pax: { 'SCHILY.xattr.user.dir': 'labelled', 'SCHILY.xattr.trusted.kept': 'yes' } },
  { name: 'etc/link', type: 'symlink', linkname: '../bin/ping', pax: { 'SCHILY.xattr.trusted.link': 'on the link' } },
]);

t.test('devices, fifos and xattrs come out as the layer says, in both forms', needsRoot, async (t) => {
  for (const form of ['sync', 'promise'] as const) {
    const s = scratch(t);
    fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles([{ ref: REF, layers: [layer] }])));
    const store = s.path('store');
    const unpacked = form === 'sync' ? unpackSync(s.path('a.tar'), { store }) : await unpack(s.path('a.tar'), { store });
    const dir = unpacked.layers[0]!.path;
    const nul = fs.lstatSync(`${dir}/dev/null`);
    t.ok(nul.isCharacterDevice(), `${form}: a char device`);
    t.equal(nul.rdev, 259, 'major 1, minor 3');
    t.equal(nul.mode & 0o7777, 0o666, 'its mode, past the umask');
    const loop = fs.lstatSync(`${dir}/dev/loop9`);
    t.ok(loop.isBlockDevice(), 'a block device');
    t.equal(loop.rdev, 7 * 256 + 9);
    t.equal(loop.gid, 6, 'its group');
    const pipe = fs.lstatSync(`${dir}/run/pipe`);
    t.ok(pipe.isFIFO(), 'a fifo');
    t.same([pipe.mode & 0o7777, pipe.uid], [0o620, 1000]);
    t.same(xattrsOf(`${dir}/bin/ping`), { 'security.capability': CAP_NET_RAW, 'user.note': Buffer.from('pinged') }, 'the capability kept past the chown');
    t.same(xattrsOf(`${dir}/etc`), { 'trusted.kept': Buffer.from('yes'), 'user.dir': Buffer.from('labelled') });
    t.same(xattrsOf(`${dir}/etc/link`), { 'trusted.link': Buffer.from('on the link') }, 'set on the symlink, not its target');
  }
});

t.test("overlay's own attributes in a layer are refused, naming the entry and the attribute", needsRoot, async (t) => {
  const s = scratch(t);
  for (const [name, entry] of [
    ['trusted.overlay.redirect', { name: 'r', content: 'x', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } }],
    ['user.overlay.opaque', { name: 'd/', type: 'dir' as const, pax: { 'SCHILY.xattr.user.overlay.opaque': 'y' } }],
  ] as const) {
    fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles([{ ref: REF, layers: [tar([entry])] }])));
    t.throws(() => unpackSync(s.path('a.tar'), { store: s.path('store') }), { code: 'EINVAL', field: 'archive', message: new RegExp(`carries '${name.replace(/\./g, '\\.')}', an attribute of overlay's own`) });
    t.notOk(fs.existsSync(s.path('store', 'refs')) && fs.readdirSync(s.path('store', 'refs')).length > 0, 'no ref stored');
  }
});

t.test('without CAP_MKNOD a device is refused naming the entry; nothing is stored', { skip: needsRoot.skip || setprivMissing() }, async (t) => {
  const s = scratch(t);
  fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles([{ ref: REF, layers: [layer] }])));
  const store = s.path('store');
  const script = `
    const { unpackSync } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'index.js'))});
    try { unpackSync(${JSON.stringify(s.path('a.tar'))}, { store: ${JSON.stringify(store)} }); console.log('{}'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, field: e.field, message: e.message })); }`;
  const child = spawnSync('setpriv', ['--bounding-set=-mknod', ...([] as string[]).concat(...nodeCommand(['-e', script], { coverage: false }).flat())], { encoding: 'utf8' });
  t.equal(child.status, 0, child.stderr);
  const err = JSON.parse(child.stdout) as Record<string, string>;
  t.match(err, { code: 'EPERM', field: 'archive', message: /layer entry 'dev\/null' is a chardev that cannot be made here \(mknod: EPERM\)/ });
  const layers = path.join(store, 'layers');
  t.same(fs.existsSync(layers) ? fs.readdirSync(layers) : [], [], 'no layer stored');
});
