// seal(source, { store, image }) / sealSync: both twins give the same bytes
// for one tree (and so the same digest), every file's content lands in the
// store under its fs-verity digest, a second seal adds only what is new,
// the image carries no file data, and the image mounted through
// `{ sealed, store }` shows the source tree entry for entry.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { mountSync, seal, sealSync } from '../../lib/index';
import { needsImages } from '../helpers/images';
import { scratch } from '../helpers/scratch';
import { referenceDigest } from './fsverity-reference';
import { aclValue, listTree, makeRichTree, storeFiles } from './seal-trees';
import { setXattrs, xattrsOf } from '../helpers/xattr';

const objectOf = (data: Buffer): string => {
  const hex = referenceDigest(data);
  return `${hex.slice(0, 2)}/${hex.slice(2)}`;
};

t.test('sealSync and seal give byte-identical images, the digest measured, the contents in the store', needsImages, async (t) => {
  const s = scratch(t);
  makeRichTree(s.path('src'));
  const [store] = s.mkdirs('store');
  const one = sealSync(s.path('src'), { store: store!, image: s.path('one.img') });
  const two = await seal(s.path('src'), { store: store!, image: s.path('two.img') });
  t.ok(fs.readFileSync(s.path('one.img')).equals(fs.readFileSync(s.path('two.img'))), 'the same tree sealed twice: the same bytes');
  t.equal(one.digest, `sha256:${referenceDigest(fs.readFileSync(s.path('one.img')))}`, "the image's own fs-verity digest");
  t.equal(two.digest, one.digest);
  t.equal(fs.readFileSync(s.path('one.img')).subarray(0, 16).toString('hex'), '9a6278d0' + '01000000' + '00000000' + '00000000', "composefs' header: magic, version 1, no ACLs, composefs_version 0");
  const contents = ['etc/hostname', 'etc/deep/er/big', 'setuid', 'owned'].map((rel) => fs.readFileSync(s.path('src', rel)));
  t.same(storeFiles(store!), contents.map(objectOf).sort(), 'one object per distinct non-empty content, the hard link shares one');
  for (const data of contents) t.ok(fs.readFileSync(path.join(store!, objectOf(data))).equals(data));
  t.same({ ...one, digest: '' }, { image: s.path('one.img'), store, digest: '', files: 4, added: 4, addedBytes: contents.reduce((n, d) => n + d.length, 0) });
  t.same({ ...two, digest: '' }, { image: s.path('two.img'), store, digest: '', files: 4, added: 0, addedBytes: 0 }, 'the second seal finds every object there');
  t.ok(fs.statSync(s.path('one.img')).size < 256 * 1024, `the image holds no file data (${fs.statSync(s.path('one.img')).size} bytes for a 3 MB file)`);
  t.same(fs.readdirSync(s.dir).sort(), ['one.img', 'src', 'store', 'two.img'], 'no staging directory left beside the images');
});

t.test('a second, mostly equal tree adds only its new objects', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'a/same': 'same in both', 'a/copy-of-same': 'same in both', 'a/changes': 'first', 'a/sub/also-same': 'x'.repeat(9000) });
  fs.cpSync(s.path('a'), s.path('b'), { recursive: true });
  fs.writeFileSync(s.path('b/changes'), 'second');
  fs.writeFileSync(s.path('b/sub/new'), 'only in b');
  const [store] = s.mkdirs('store');
  t.match(sealSync(s.path('a'), { store: store!, image: s.path('a.img') }), { files: 4, added: 3 }, 'two files of one content: one object');
  const before = storeFiles(store!);
  const second = await seal(s.path('b'), { store: store!, image: s.path('b.img') });
  t.match(second, { files: 5, added: 2, addedBytes: 'second'.length + 'only in b'.length });
  t.same(storeFiles(store!).filter((f) => !before.includes(f)), [objectOf(Buffer.from('second')), objectOf(Buffer.from('only in b'))].sort());
  t.notOk(fs.readFileSync(s.path('a.img')).equals(fs.readFileSync(s.path('b.img'))));
  t.same(storeFiles(store!).filter((f) => path.basename(f).startsWith('.seal-')), [], 'no temporary left in the store');
});

t.test('the sealed image mounts through { sealed, store } and shows the source tree entry for entry', needsImages, async (t) => {
  const s = scratch(t);
  makeRichTree(s.path('src'));
  const [store, target] = s.mkdirs('store', 'm');
  const { image, digest } = sealSync(s.path('src'), { store: store!, image: s.path('tree.img') });
  const m = mountSync({ lower: [{ sealed: image, store: store!, digest }], target: target! });
  t.teardown(() => {
    if (m.mounted) m.unmountSync();
  });
  const want = listTree(s.path('src'));
  const got = listTree(target!);
  // Before 6.5 the store is the bottom lower layer, and its xx/ directories show beside the tree.
  if (m.sealed?.storesAs === 'lower') for (const rel of Object.keys(got)) if (/^[0-9a-f]{2}(\/|$)/.test(rel)) delete got[rel];
  t.same(Object.keys(got), Object.keys(want), 'the same names');
  for (const rel of Object.keys(want)) t.same(got[rel], want[rel], rel || '/');
  t.same(want['etc/deep']?.xattrs, { 'trusted.dir': Buffer.from('on a directory').toString('hex') }, "the source's trusted.overlay.* xattrs are not sealed");
  m.unmountSync();
});

t.test('bad input names its field and leaves nothing behind', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/f': 'content', 'file': 'not a dir' });
  const [store] = s.mkdirs('store');
  const cases: Array<[string, string, { store: string; image: string }, string, string]> = [
    ['missing source', s.path('nope'), { store: store!, image: s.path('x.img') }, 'ENOENT', 'source'],
    ['source not a directory', s.path('file'), { store: store!, image: s.path('x.img') }, 'ENOTDIR', 'source'],
    ["image's directory missing", s.path('src'), { store: store!, image: s.path('no/x.img') }, 'ENOENT', 'image'],
    ['missing store', s.path('src'), { store: s.path('nostore'), image: s.path('x.img') }, 'ENOENT', 'store'],
    ['store not a directory', s.path('src'), { store: s.path('file'), image: s.path('x.img') }, 'ENOTDIR', 'store'],
  ];
  for (const [what, source, options, code, field] of cases) {
    t.throws(() => sealSync(source, options), { code, field }, what);
    await t.rejects(seal(source, options), { code, field }, `${what} (Promise)`);
  }
  t.throws(() => sealSync(s.path('src'), { store: store!, image: s.path('x.img'), typo: 1 } as never), { code: 'EINVAL', field: 'typo' });
  t.throws(() => sealSync(s.path('src'), { image: s.path('x.img') } as never), { code: 'ERR_INVALID_ARG_TYPE', field: 'store' });
  t.same(fs.readdirSync(s.dir).sort(), ['file', 'src', 'store'], 'no image, no staging directory');
  t.same(fs.readdirSync(store!), [], 'no object, no temporary in the store');
});

t.test("a tree with a POSIX ACL: composefs' header says so, and the mount shows the ACL", needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/shared': 'read by user 1000 too' });
  // USER_OBJ rw, USER 1000 r, GROUP_OBJ r, MASK r, OTHER r
  const acl = aclValue([[0x01, 6, 0xffffffff], [0x02, 4, 1000], [0x04, 4, 0xffffffff], [0x10, 4, 0xffffffff], [0x20, 4, 0xffffffff]]);
  setXattrs(s.path('src/shared'), { 'system.posix_acl_access': acl });
  const [store, target] = s.mkdirs('store', 'm');
  const { image } = sealSync(s.path('src'), { store: store!, image: s.path('acl.img') });
  t.equal(fs.readFileSync(image).readUInt32LE(8), 1, 'LCFS_EROFS_FLAGS_HAS_ACL');
  const m = mountSync({ lower: [{ sealed: image, store: store! }], target: target! });
  t.teardown(() => {
    if (m.mounted) m.unmountSync();
  });
  t.same(xattrsOf(path.join(target!, 'shared'))['system.posix_acl_access'], acl);
  m.unmountSync();
});
