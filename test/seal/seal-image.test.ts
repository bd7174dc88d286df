// The image seal writes itself (native/seal/erofs_writer.h), read back by
// the kernel: a tree with an entry of every kind the format lays out
// differently (a directory of several blocks, names of 255 bytes and of
// non-UTF-8 bytes, hard links, empty and sparse files, devices, a fifo,
// xattrs and POSIX ACLs, a directory and a symlink whose xattrs leave no
// room for their data inline, a symlink target inline up to a block's end, 32-bit owners, nanosecond times) shows again through erofs mounted
// alone (files as holes of their size, pointing at their objects) and
// through the sealed overlay (files with their content); a copy of the tree
// made by cp -a (other inode numbers, another readdir order) seals to the
// same bytes; and erofs-utils' fsck.erofs, where installed, finds nothing
// wrong.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { mountSync, sealSync } from '../../lib/index';
import { needsImages } from '../helpers/images';
import { scratch } from '../helpers/scratch';
import { holdSuperblockLock } from '../helpers/superblock-lock';
import { setXattrs, xattrsOf } from '../helpers/xattr';
import { referenceDigest } from './fsverity-reference';
import { aclValue, type Entry, listTree, makeRichTree } from './seal-trees';
import { metacopyValue } from './sealed-images';

const NON_UTF8 = [Buffer.from([0xff, 0xfe, 0x41]), Buffer.from([0x80]), Buffer.from('caf\xe9', 'latin1')];

/** makeRichTree and every layout the writer has a case for, at `root`. */
function makeEveryKind(root: string): void {
  makeRichTree(root);
  const at = (rel: string): string => path.join(root, rel);
  fs.mkdirSync(at('many'));
  for (let i = 0; i < 3000; i++) fs.writeFileSync(at(`many/${String(i).padStart(4, '0')}-${'n'.repeat(i % 60)}`), i % 7 ? '' : `content ${i}`);
  fs.writeFileSync(at(`many/${'L'.repeat(255)}`), 'a name of 255 bytes');
  fs.mkdirSync(at('bytes'));
  for (const name of NON_UTF8) fs.writeFileSync(Buffer.concat([Buffer.from(at('bytes') + '/'), name]), name);
  fs.writeFileSync(at('bytes/-dash'), 'sorts before the dot entries');
  fs.writeFileSync(at('sparse'), '');
  fs.truncateSync(at('sparse'), 20 * 1024 * 1024);
  const fd = fs.openSync(at('sparse'), 'r+');
  fs.writeSync(fd, 'in the middle', 9 * 1024 * 1024);
  fs.closeSync(fd);
  fs.linkSync(at('sparse'), at('many/sparse-link'));
  fs.linkSync(at('sparse'), at('bytes/sparse-link'));
  execFileSync('mknod', [at('block'), 'b', '7', '1234']);
  execFileSync('mknod', [at('bigminor'), 'c', '240', '70000']);
  fs.symlinkSync('t'.repeat(4000), at('link-4000'));
  fs.symlinkSync('u'.repeat(3000), at('link-with-xattrs'));
  setXattrs(at('link-with-xattrs'), { 'trusted.big': Buffer.alloc(1500, 1) });
  fs.mkdirSync(at('heavy'));
  // Xattrs near ext4's limit of one block, and names enough that the directory's tail cannot go inline after them.
  for (let i = 0; i < 20; i++) fs.writeFileSync(at(`heavy/file-${i}`), i ? '' : 'under a directory with 3.8 KiB of xattrs');
  setXattrs(at('heavy'), Object.fromEntries([1, 2, 3].map((i) => [`user.x${i}`, Buffer.alloc(1250, i)])));
  setXattrs(at('heavy/file-0'), { 'system.posix_acl_access': aclValue([[0x01, 6, 0xffffffff], [0x02, 4, 1000], [0x04, 4, 0xffffffff], [0x10, 4, 0xffffffff], [0x20, 4, 0xffffffff]]) });
  setXattrs(at('heavy'), { 'system.posix_acl_default': aclValue([[0x01, 7, 0xffffffff], [0x04, 5, 0xffffffff], [0x08, 5, 2000], [0x10, 5, 0xffffffff], [0x20, 5, 0xffffffff]]) });
  fs.lchownSync(at('sparse'), 100000, 200000);
  for (const [rel, when] of [['sparse', '1234567890.000000001'], ['many', '2000000000.999999999'], ['link-4000', '1.5'], ['heavy', '1700000000.123456789']]) {
    execFileSync('touch', ['-h', '-d', `@${when}`, at(rel!)]);
  }
}

/** listTree of `root` but the directory `bytes` (whose names listTree cannot take as strings), keyed from `root`. */
function listBut(root: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  for (const name of fs.readdirSync(root).sort()) {
    if (name === 'bytes') continue;
    for (const [rel, entry] of Object.entries(listTree(path.join(root, name)))) out[rel ? `${name}/${rel}` : name] = entry;
  }
  return out;
}

/** erofs-utils' fsck.erofs of `image` exits 0, where it is installed (an extra check: the kernel's reading is the test). */
function fsckErofs(t: Test, image: string): void {
  let fsck: string | undefined;
  try {
    fsck = execFileSync('sh', ['-c', 'command -v fsck.erofs'], { encoding: 'utf8' }).trim();
  } catch {
    t.comment('fsck.erofs is not installed: the extra check is left out');
  }
  if (fsck) t.doesNotThrow(() => execFileSync(fsck!, [image], { stdio: 'pipe' }), 'fsck.erofs exits 0');
}

/** A directory's names as hex of their bytes, sorted. */
const namesOf = (dir: string): string[] => fs.readdirSync(dir, { encoding: 'buffer' }).map((n) => n.toString('hex')).sort();

t.test('every kind of entry reads back through erofs alone and through the sealed overlay', needsImages, async (t) => {
  const s = scratch(t);
  makeEveryKind(s.path('src'));
  const [store, alone, sealed] = s.mkdirs('store', 'alone', 'sealed');
  const { image } = sealSync(s.path('src'), { store: store!, image: s.path('every.img') });
  const size = fs.statSync(image).size;
  t.ok(size < 512 * 1024, `the image holds no file data: ${size} bytes for 23 MB of files`);
  holdSuperblockLock();
  execFileSync('mount', ['-t', 'erofs', '-o', 'ro,loop', image, alone!]);
  t.teardown(() => {
    if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${alone} `)) execFileSync('umount', [alone!]);
  });
  const want = listBut(s.path('src'));
  const got = listBut(alone!);
  t.same(Object.keys(got), Object.keys(want), `the same ${Object.keys(want).length} names (the UTF-8 ones) through erofs alone`);
  for (const [rel, entry] of Object.entries(want)) {
    const seen = got[rel]!;
    if (entry.type === 'file') {
      const data = fs.readFileSync(path.join(s.path('src'), rel));
      t.ok(seen.content === Buffer.alloc(data.length).toString('base64'), `${rel}: a hole of its size`);
      const xattrs = xattrsOf(path.join(alone!, rel));
      if (data.length > 0) {
        const digest = referenceDigest(data);
        t.same([xattrs['trusted.overlay.redirect']?.toString(), xattrs['trusted.overlay.metacopy']], [`/${digest.slice(0, 2)}/${digest.slice(2)}`, metacopyValue(digest)], `${rel}: its object named`);
      } else {
        t.notOk('trusted.overlay.redirect' in xattrs, `${rel}: empty, no object`);
      }
      delete seen.content;
      delete entry.content;
    }
    t.same(seen, entry, rel || '/');
  }
  t.same(namesOf(path.join(alone!, 'bytes')), namesOf(s.path('src/bytes')), 'non-UTF-8 names kept as bytes');
  t.equal(fs.readdirSync(path.join(alone!, 'many')).length, 3002, 'a directory of several blocks lists whole');
  t.equal(fs.statSync(path.join(alone!, 'many', 'L'.repeat(255))).size, 'a name of 255 bytes'.length, 'a 255-byte name looked up');
  execFileSync('umount', [alone!]);

  const m = mountSync({ lower: [{ sealed: image, store: store! }], target: sealed! });
  t.teardown(() => {
    if (m.mounted) m.unmountSync();
  });
  const through = listBut(sealed!);
  if (m.sealed?.storesAs === 'lower') for (const rel of Object.keys(through)) if (/^[0-9a-f]{2}(\/|$)/.test(rel)) delete through[rel];
  const full = listBut(s.path('src'));
  t.same(Object.keys(through), Object.keys(full), 'the same names through the sealed overlay');
  for (const rel of Object.keys(full)) t.same(through[rel], full[rel], `${rel || '/'} (sealed)`);
  t.same(namesOf(path.join(sealed!, 'bytes')), namesOf(s.path('src/bytes')), 'non-UTF-8 names kept as bytes (sealed)');
  for (const name of NON_UTF8) {
    t.ok(fs.readFileSync(Buffer.concat([Buffer.from(sealed + '/bytes/'), name])).equals(name), `the file named ${name.toString('hex')} reads its content`);
  }
  m.unmountSync();
});

t.test('a cp -a copy of the tree seals to the same bytes, and fsck.erofs finds the image sound', needsImages, async (t) => {
  const s = scratch(t);
  makeEveryKind(s.path('src'));
  execFileSync('cp', ['-a', s.path('src'), s.path('copy')]);
  const [store] = s.mkdirs('store');
  const one = sealSync(s.path('src'), { store: store!, image: s.path('one.img') });
  const two = sealSync(s.path('copy'), { store: store!, image: s.path('two.img') });
  t.ok(fs.readFileSync(one.image).equals(fs.readFileSync(two.image)), 'byte-identical');
  t.equal(two.added, 0, 'the copy added no object');
  fsckErofs(t, one.image);
});

// trusted.* xattrs: tmpfs takes them at any size on every kernel here, user.* only from 6.6.
t.test('entries whose xattrs fill more than a block (a tmpfs source, which holds them) read back whole', needsImages, async (t) => {
  const s = scratch(t);
  const [src, store, sealed] = s.mkdirs('src', 'store', 'sealed');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'seal-image-test', src!]);
  t.teardown(() => {
    if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${src} `)) execFileSync('umount', [src!]);
  });
  fs.writeFileSync(path.join(src!, 'file'), 'content under 50 KB of xattrs');
  setXattrs(path.join(src!, 'file'), { 'trusted.a': Buffer.alloc(20000, 1), 'trusted.b': Buffer.alloc(30000, 2) });
  fs.mkdirSync(path.join(src!, 'dir'));
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(src!, 'dir', `entry-${i}`), '');
  setXattrs(path.join(src!, 'dir'), { 'trusted.c': Buffer.alloc(9000, 3) });
  fs.symlinkSync('s'.repeat(3000), path.join(src!, 'link'));
  setXattrs(path.join(src!, 'link'), { 'trusted.d': Buffer.alloc(6000, 4) });
  const { image } = sealSync(src!, { store: store!, image: s.path('big-xattrs.img') });
  const m = mountSync({ lower: [{ sealed: image, store: store! }], target: sealed! });
  t.teardown(() => {
    if (m.mounted) m.unmountSync();
  });
  const want = listTree(src!);
  const got = listTree(sealed!);
  if (m.sealed?.storesAs === 'lower') for (const rel of Object.keys(got)) if (/^[0-9a-f]{2}(\/|$)/.test(rel)) delete got[rel];
  t.same(Object.keys(got), Object.keys(want), `the same ${Object.keys(want).length} names`);
  for (const rel of ['', 'file', 'dir', 'dir/entry-199', 'link']) t.same(got[rel], want[rel], rel || '/');
  m.unmountSync();
  fsckErofs(t, image);
});
