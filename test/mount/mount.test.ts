// The overlay basics on the real kernel, as the seed walkthroughs show them.
import * as fs from 'node:fs';
import t from 'tap';
import { kernelFeatures, mount, mountSync, umount, umountSync } from '../../lib/index';
import { native } from '../../lib/core/native';
import { superOptions, unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

t.test('read-through, copy-up, upper over lower, leftmost lower wins', needsOverlay, async (t) => {
  const s = scratch(t);
  const [l1, l2, upper, work, target] = s.mkdirs('layer1', 'layer2', 'upper', 'work', 'merged');
  s.write({
    'layer1/file1.txt': 'content for file1.txt in layer1',
    'layer2/file1.txt': 'content for file1.txt in layer2',
    'layer1/file2.txt': 'content for file2.txt in layer1',
    'layer2/file3.txt': 'content for file3.txt in layer2',
    'layer2/shadowed': 'lower',
    'upper/shadowed': 'upper',
  });
  const m = await mount({ lower: [l1, l2], upper, work, target });
  unmountAtEnd(t, m);
  t.equal(m.target, target);

  t.same(fs.readdirSync(target).sort(), ['file1.txt', 'file2.txt', 'file3.txt', 'shadowed']);
  t.equal(s.read('merged/file1.txt'), 'content for file1.txt in layer1', 'leftmost lower wins');
  t.equal(s.read('merged/file3.txt'), 'content for file3.txt in layer2', 'read-through from a lower');
  t.equal(s.read('merged/shadowed'), 'upper', 'upper over lower');

  fs.writeFileSync(s.path('merged/file4.txt'), 'new content for file4.txt');
  fs.writeFileSync(s.path('merged/file1.txt'), 'new content for file1.txt');
  t.equal(s.read('upper/file4.txt'), 'new content for file4.txt', 'a new file lands in upper');
  t.equal(s.read('upper/file1.txt'), 'new content for file1.txt', 'copy-up on write');
  t.equal(s.read('layer1/file1.txt'), 'content for file1.txt in layer1', 'lower untouched');
  t.equal(s.read('layer2/file1.txt'), 'content for file1.txt in layer2', 'lower untouched');

  await m.unmount();
  t.notOk(m.mounted);
  t.same(fs.readdirSync(target), [], 'the target is empty again');
});

t.test('read-only without upper: EROFS on write', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'merged');
  s.write({ 'a/x': 'from a', 'b/y': 'from b' });
  const m = mountSync({ lower: [a, b], target });
  unmountAtEnd(t, m);
  t.equal(s.read('merged/y'), 'from b');
  t.throws(() => fs.writeFileSync(s.path('merged/z'), 'no'), { code: 'EROFS' });
  m.unmountSync();
  t.notOk(m.mounted);
});

t.test('readOnly with upper writes nothing to upper', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, target] = s.mkdirs('lower', 'upper', 'work', 'merged');
  s.write({ 'lower/f': 'x' });
  const m = await mount({ lower: [lower], upper, work, target, readOnly: true, nosuid: true, nodev: true, noexec: true, noatime: true });
  unmountAtEnd(t, m);
  t.throws(() => fs.writeFileSync(s.path('merged/f'), 'y'), { code: 'EROFS' });
  t.same(fs.readdirSync(upper), []);
  const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === target) ?? '';
  t.match(line.split(' ')[5], /^ro,nosuid,nodev,noexec,noatime$/, 'mount flags applied');
  await m.unmount();
});

t.test('a missing layer: ENOENT naming that layer, nothing mounted', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, upper, work, target] = s.mkdirs('a', 'upper', 'work', 'merged');
  const missing = s.path('missing');
  await t.rejects(mount({ lower: [a, missing], upper, work, target }), {
    code: 'ENOENT',
    errno: -2,
    syscall: 'open',
    path: missing,
    field: 'lower[1]',
    message: `ENOENT: no such file or directory, open '${missing}'`,
  });
  t.throws(() => mountSync({ lower: [missing], upper, work, target }), { code: 'ENOENT', field: 'lower[0]' });
  s.write({ 'file-target': '' });
  t.throws(() => mountSync({ lower: [a], upper, work, target: s.path('file-target') }), { code: 'ENOTDIR', field: 'target' });
  t.same(fs.readdirSync(target), [], 'nothing mounted');
});

t.test('umount: flags, and errors shaped like fs errors', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'merged');
  s.write({ 'a/x': '1' });
  await mount({ lower: [a, b], target });
  const handle = fs.openSync(s.path('merged/x'), 'r');
  t.teardown(() => fs.closeSync(handle));
  t.throws(() => umountSync(target), { code: 'EBUSY', syscall: 'umount2', path: target }, 'busy while a file is open');
  await umount(target, { detach: true });
  t.throws(() => fs.readFileSync(s.path('merged/x')), { code: 'ENOENT' }, 'detached from the tree at once');
  t.equal(fs.readFileSync(handle, 'utf8'), '1', 'the open file still reads');
  await t.rejects(umount(target), { code: 'EINVAL', syscall: 'umount2', path: target }, 'nothing mounted there');
  t.throws(() => umountSync(target, { expire: true, force: true }), { code: 'EINVAL' });
  t.throws(() => umountSync(target, { detach: 'yes' as unknown as boolean }), TypeError);
  s.write({ 'a/dir/.keep': '' });
  fs.symlinkSync(target, s.path('link'));
  await mount({ lower: [a, b], target });
  t.throws(() => umountSync(s.path('link'), { noFollow: true }), { code: 'EINVAL' }, 'noFollow does not follow the symlink');
  umountSync(s.path('link'));
  t.same(fs.readdirSync(target), []);
});

t.test('overlay options reach the kernel, bare flags and key=value alike', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, upper, work, target] = s.mkdirs('a', 'upper', 'work', 'merged');
  // fsconfig-path only where overlay has `lowerdir+` (6.8+): Debian's 6.1 in test:vm has not.
  for (const mechanism of kernelFeatures().lowerdirPlus ? (['fsconfig-path', 'mount'] as const) : (['mount'] as const)) {
    const m = mountSync({ lower: [a], upper, work, target, userxattr: true, redirectDir: 'nofollow', defaultPermissions: true, mechanism });
    const options = superOptions(target);
    m.unmountSync();
    t.ok(options.includes('userxattr'), `${mechanism}: the bare flag`);
    t.ok(options.includes('redirect_dir=nofollow'), `${mechanism}: a key=value option`);
    t.ok(options.includes('default_permissions'), `${mechanism}: a second flag`);
  }
});

t.test('the addon checks the packed mount and umount arguments too, as a backstop', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'merged');
  const ok = [target, [a, b], [], undefined, undefined, [], 0, undefined, undefined, undefined, undefined] as const;
  const bad: Array<[string, unknown[]]> = [
    ['no arguments', []],
    ['a target that is not a string', [7, ...ok.slice(1)]],
    ['a NUL in the target', [`${target}\0x`, ...ok.slice(1)]],
    ['lower not an array', [target, a, ...ok.slice(2)]],
    ['no lower layer', [target, [], ...ok.slice(2)]],
    ['a lower layer that is not a string', [target, [a, 7], ...ok.slice(2)]],
    ['upper without work', [target, [a, b], [], a, undefined, ...ok.slice(5)]],
    ['options of odd length', [...ok.slice(0, 5), ['userxattr'], ...ok.slice(6)]],
    ['an option value that is not a string', [...ok.slice(0, 5), ['index', 0], ...ok.slice(6)]],
    ['flags that are not a number', [...ok.slice(0, 6), true, ...ok.slice(7)]],
    ['an unknown propagation', [...ok.slice(0, 8), 'everywhere', ...ok.slice(9)]],
    ['an idmap that is not an object', [...ok.slice(0, 9), 'root', ok[10]]],
    ['an unknown mechanism', [...ok.slice(0, 10), 'magic']],
  ];
  const call = native.mountOverlaySync as unknown as (...args: unknown[]) => unknown;
  for (const [what, args] of bad) t.throws(() => call(...args), TypeError, what);
  t.throws(() => (native.umountOverlaySync as unknown as (...args: unknown[]) => unknown)(target, { detach: true }), TypeError, 'umount flags as an object');
  t.same(fs.readdirSync(target), [], 'nothing mounted');
  const [mechanism, mountId, warnings] = (native.mountOverlaySync as unknown as (...args: unknown[]) => [string, number, string[]])(...ok);
  native.umountOverlaySync(target, 0);
  t.type(mechanism, 'string', 'the well-formed call mounts');
  t.ok(mountId > 0);
  t.same(warnings, []);
});
