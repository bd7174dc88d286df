// whiteout / isWhiteout on their own: both kinds, EEXIST, atomic force, and
// what happens when a replacement fails halfway.
import * as fs from 'node:fs';
import t from 'tap';
import { isOpaqueSync, isWhiteout, isWhiteoutSync, setOpaqueSync, whiteout, whiteoutSync } from '../../lib/index';
import { native } from '../../lib/core/native';
import { isCharDevice00, needsRoot, tempsIn } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

t.test('a char device 0/0, with and without root, Promise and Sync', needsRoot, async (t) => {
  const s = scratch(t);
  s.mkdirs('layer/etc');
  await whiteout('etc/gone', { root: s.path('layer') });
  whiteoutSync(s.path('layer/etc/gone-too'));
  await whiteout(s.path('layer/etc/abs-beneath'), { root: s.path('layer') });
  for (const name of ['gone', 'gone-too', 'abs-beneath']) {
    t.ok(isCharDevice00(s.path('layer/etc', name)), `${name} is a char device 0/0`);
    t.equal(fs.lstatSync(s.path('layer/etc', name)).mode & 0o7777, 0, 'mode 0, as the kernel makes them');
  }
  t.equal(await isWhiteout('etc/gone', { root: s.path('layer') }), 'chardev');
  t.equal(isWhiteoutSync(s.path('layer/etc/gone-too')), 'chardev');
  t.same(tempsIn(s.path('layer/etc')), []);
});

t.test('something already there: EEXIST, untouched', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'layer/keep': 'precious' });
  fs.mkdirSync(s.path('layer/dir'));
  fs.symlinkSync('keep', s.path('layer/link'));
  const root = s.path('layer');
  await t.rejects(whiteout('keep', { root }), { code: 'EEXIST', syscall: 'mknodat', path: s.path('layer/keep'), field: 'path' });
  t.throws(() => whiteoutSync('keep', { root, kind: 'xattr' }), { code: 'EEXIST', path: s.path('layer/keep'), field: 'path' });
  t.throws(() => whiteoutSync('dir', { root }), { code: 'EEXIST' });
  t.throws(() => whiteoutSync('link', { root }), { code: 'EEXIST' });
  t.equal(s.read('layer/keep'), 'precious');
  t.ok(fs.lstatSync(s.path('layer/link')).isSymbolicLink(), 'the symlink is still a symlink');
  t.equal(isOpaqueSync(root), false, "a refused xattr whiteout takes back the 'x' it set");
  t.same(tempsIn(root), []);
});

t.test('force replaces a file, a symlink, a whiteout, atomically', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'layer/file': 'old', 'layer/file2': 'old' });
  fs.symlinkSync('/etc/passwd', s.path('layer/link'));
  const root = s.path('layer');
  await whiteout('file', { root, force: true });
  whiteoutSync('link', { root, force: true });
  whiteoutSync('link', { root, force: true });
  t.ok(isCharDevice00(s.path('layer/file')));
  t.ok(isCharDevice00(s.path('layer/link')), 'the symlink itself is replaced, not followed');
  t.ok(fs.statSync('/etc/passwd').isFile(), 'its target is untouched');
  whiteoutSync('file2', { root, force: true, kind: 'xattr' });
  t.equal(isWhiteoutSync('file2', { root }), 'xattr');
  whiteoutSync('file2', { root, force: true });
  t.equal(isWhiteoutSync('file2', { root }), 'chardev', 'one kind replaces the other');
  t.same(tempsIn(root), []);
});

t.test('force over a directory fails and loses nothing', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'layer/dir/inside': 'kept' });
  fs.mkdirSync(s.path('layer/empty'));
  const root = s.path('layer');
  for (const kind of ['chardev', 'xattr'] as const) {
    t.throws(() => whiteoutSync('dir', { root, force: true, kind }), { code: 'EISDIR', syscall: 'renameat', path: s.path('layer/dir') }, kind);
    t.throws(() => whiteoutSync('empty', { root, force: true, kind }), { code: 'EISDIR', path: s.path('layer/empty') }, `${kind}, empty dir`);
  }
  t.equal(s.read('layer/dir/inside'), 'kept');
  t.ok(fs.statSync(s.path('layer/empty')).isDirectory());
  t.equal(isOpaqueSync(root), false, "the 'x' set for the xattr attempt is taken back");
  t.same(tempsIn(root), []);
});

t.test("kind 'xattr': zero-size file, parent marked 'x', 'y' kept apart", needsRoot, async (t) => {
  const s = scratch(t);
  s.mkdirs('layer/d', 'layer/opaque', 'layer/odd');
  const root = s.path('layer');
  await whiteout('d/gone', { root, kind: 'xattr' });
  const st = fs.lstatSync(s.path('layer/d/gone'));
  t.ok(st.isFile() && st.size === 0, 'a zero-size regular file');
  t.equal(isWhiteoutSync('d/gone', { root }), 'xattr');
  t.equal(isWhiteoutSync('d/gone', { root, userxattr: true }), false, 'trusted.overlay.whiteout, not user.*');
  t.equal(isOpaqueSync('d', { root }), 'x', "parent marked opaque 'x'");
  whiteoutSync('d/gone-too', { root, kind: 'xattr' });
  t.equal(isOpaqueSync('d', { root }), 'x');

  // An opaque dir already hides everything below; the kernel would list the file in readdir.
  setOpaqueSync('opaque', { root });
  t.throws(() => whiteoutSync('opaque/gone', { root, kind: 'xattr' }), { code: 'EINVAL', field: 'path', path: s.path('layer/opaque/gone'), message: /opaque \('y'\)/ });
  t.same(fs.readdirSync(s.path('layer/opaque')), [], 'nothing made');
  t.equal(isOpaqueSync('opaque', { root }), 'y', "'y' is not downgraded");
  whiteoutSync('opaque/chardev-is-fine', { root });

  const plainEmpty = s.path('layer/d/plain');
  fs.writeFileSync(plainEmpty, '');
  t.equal(isWhiteoutSync(plainEmpty), false, 'an empty file without the xattr is not a whiteout');
});

t.test('userxattr: user.overlay.* names', needsRoot, async (t) => {
  const s = scratch(t);
  s.mkdirs('layer/d');
  const root = s.path('layer');
  whiteoutSync('d/gone', { root, kind: 'xattr', userxattr: true });
  t.equal(isWhiteoutSync('d/gone', { root, userxattr: true }), 'xattr');
  t.equal(isWhiteoutSync('d/gone', { root }), false, 'not under trusted.*');
  t.equal(isOpaqueSync('d', { root, userxattr: true }), 'x');
  t.equal(isOpaqueSync('d', { root }), false);
  whiteoutSync('d/char', { root, userxattr: true });
  t.equal(isWhiteoutSync('d/char', { root }), 'chardev', 'a char device needs no xattr: userxattr does not matter');
});

t.test('isWhiteout on what is not one', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'layer/file': 'x', 'layer/empty': '' });
  fs.mkdirSync(s.path('layer/dir'));
  fs.symlinkSync('/dev/null', s.path('layer/to-devnull'));
  const root = s.path('layer');
  t.equal(isWhiteoutSync('missing', { root }), false, 'a missing entry: false');
  t.equal(isWhiteoutSync('missing-dir/missing', { root }), false, 'a missing directory on the way: false');
  t.equal(isWhiteoutSync('file/below', { root }), false, 'a file on the way (ENOTDIR): false');
  t.equal(await isWhiteout(s.path('layer/missing')), false, 'without root too');
  for (const name of ['file', 'empty', 'dir', 'to-devnull']) t.equal(isWhiteoutSync(name, { root }), false, name);
  t.equal(isWhiteoutSync('/dev/null'), false, 'a char device that is not 0/0');
  t.throws(() => isWhiteoutSync('x', { root: s.path('no-such-root') }), { code: 'ENOENT', field: 'root', path: s.path('no-such-root') });
});

t.test('whiteout needs its directory and an entry name', needsRoot, async (t) => {
  const s = scratch(t);
  const [root] = s.mkdirs('layer');
  t.throws(() => whiteoutSync('no/such/dir/x', { root }), { code: 'ENOENT', syscall: 'openat2', path: s.path('layer/no/such/dir/x'), field: 'path' });
  t.throws(() => whiteoutSync('.', { root }), { code: 'EINVAL', field: 'path', path: root });
  t.throws(() => whiteoutSync(root, { root }), { code: 'EINVAL', field: 'path' }, 'root itself, given absolute');
  t.throws(() => whiteoutSync('x', { kind: 'fifo' as never, root }), { code: 'EINVAL', field: 'kind' });
  t.throws(() => whiteoutSync('x', { force: 'yes' as never, root }), { name: 'TypeError', field: 'force' });
  t.throws(() => whiteoutSync('', { root }), { field: 'path', message: /must not be empty/ });
  t.throws(() => whiteoutSync(7 as never), { name: 'TypeError', field: 'path' });
  await t.rejects(whiteout('x', null as never), { name: 'TypeError', field: 'options' }, 'the Promise form rejects, never throws');
  t.same(fs.readdirSync(root), []);
});

t.test('the addon checks its arguments too, as a backstop', async (t) => {
  const bad: Array<[string, () => unknown]> = [
    ['no request', () => native.whiteoutSync(undefined as never)],
    ['no path', () => native.whiteoutSync({ userxattr: false } as never)],
    ['unknown kind', () => native.whiteoutSync({ path: '/x', kind: 'fifo', force: false, userxattr: false } as never)],
    ['unknown resolver', () => native.isOpaqueSync({ path: '/x', userxattr: false, resolver: 'guess' } as never)],
    ['empty batch root', () => native.whiteoutsSync({ root: '', paths: [], kind: 'chardev', force: false, userxattr: false })],
    ['a path that is not a string', () => native.whiteoutsSync({ root: '/r', paths: [7], kind: 'chardev', force: false, userxattr: false } as never)],
  ];
  for (const [what, call] of bad) t.throws(call, TypeError, what);
});
