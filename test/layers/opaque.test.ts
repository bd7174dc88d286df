// setOpaque / isOpaque / clearOpaque on directories in a layer.
import * as fs from 'node:fs';
import t from 'tap';
import { clearOpaque, clearOpaqueSync, isOpaque, isOpaqueSync, setOpaque, setOpaqueSync, whiteoutSync } from '../../lib/index';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

t.test("set, read, clear: 'y', 'x', false", needsRoot, async (t) => {
  const s = scratch(t);
  const [root] = s.mkdirs('layer', 'layer/usr/lib', 'layer/x');
  t.equal(await isOpaque('usr/lib', { root }), false);
  await setOpaque('usr/lib', { root });
  t.equal(await isOpaque('usr/lib', { root }), 'y');
  t.equal(isOpaqueSync(s.path('layer/usr/lib')), 'y', 'without root');
  t.equal(isOpaqueSync('usr', { root }), false, 'only that directory');
  setOpaqueSync('usr/lib', { root });
  t.equal(isOpaqueSync('usr/lib', { root }), 'y', 'setting twice is fine');
  await clearOpaque('usr/lib', { root });
  t.equal(isOpaqueSync('usr/lib', { root }), false);
  clearOpaqueSync('usr/lib', { root });
  t.pass('clearing when nothing is set is not an error');

  whiteoutSync('x/gone', { root, kind: 'xattr' });
  t.equal(isOpaqueSync('x', { root }), 'x');
  setOpaqueSync('x', { root });
  t.equal(isOpaqueSync('x', { root }), 'y', "'y' replaces 'x'");
  clearOpaqueSync('x', { root });
  t.equal(isOpaqueSync('x', { root }), false, 'clear removes whatever was set');

  setOpaqueSync('.', { root });
  t.equal(isOpaqueSync(root, { root }), 'y', 'the root itself, given as . or as itself');
});

t.test('userxattr: user.overlay.opaque, apart from trusted.*', needsRoot, async (t) => {
  const s = scratch(t);
  const [root] = s.mkdirs('layer', 'layer/d');
  setOpaqueSync('d', { root, userxattr: true });
  t.equal(isOpaqueSync('d', { root, userxattr: true }), 'y');
  t.equal(isOpaqueSync('d', { root }), false);
  setOpaqueSync('d', { root });
  clearOpaqueSync('d', { root, userxattr: true });
  t.equal(isOpaqueSync('d', { root, userxattr: true }), false);
  t.equal(isOpaqueSync('d', { root }), 'y', 'clearing user.* leaves trusted.*');
});

t.test('not a directory, missing, a symlink: errors naming the path', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'layer/file': 'x' });
  s.mkdirs('layer/real');
  fs.symlinkSync('real', s.path('layer/link'));
  const root = s.path('layer');
  t.throws(() => isOpaqueSync('file', { root }), { code: 'ENOTDIR', syscall: 'openat', path: s.path('layer/file'), field: 'dir' });
  t.throws(() => setOpaqueSync('missing', { root }), { code: 'ENOENT', path: s.path('layer/missing'), field: 'dir' });
  await t.rejects(clearOpaque(s.path('layer/missing')), { code: 'ENOENT', path: s.path('layer/missing') });
  t.throws(() => setOpaqueSync('link', { root }), { code: 'ELOOP', path: s.path('layer/link'), field: 'dir', message: /symlink/ });
  t.throws(() => setOpaqueSync(s.path('layer/link')), { code: 'ELOOP' }, 'the last component is not followed without root either');
  t.equal(isOpaqueSync('real', { root }), false, 'the symlink target was not marked');
  t.throws(() => setOpaqueSync('d', { root, resolver: 'sideways' as never }), { code: 'EINVAL', field: 'resolver' });
  t.throws(() => setOpaqueSync('d', { root, userxattr: 1 as never }), { name: 'TypeError', field: 'userxattr' });
});
