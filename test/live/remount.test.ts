// Remounting a live overlay: ro then rw, flags, the refusals, and the first
// seed's scenario (the host root as the template of a container).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { withoutPreload } from '../helpers/env';
import t from 'tap';
import { mount, mountSync, remount, remountSync, type RemountMechanism, type RemountOptions } from '../../lib/index';
import { hasPython } from '../helpers/filesystems';
import { openFdCount } from '../helpers/live';
import { topMount, unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

function mountFlags(target: string): string {
  return topMount(target)?.mountOptions.join(',') ?? '';
}
function superFlags(target: string): string {
  return topMount(target)?.superOptions ?? '';
}

for (const mechanism of ['new-api', 'mount'] as RemountMechanism[]) {
  t.test(`remount ro then rw: EROFS in between (${mechanism})`, needsOverlay, async (t) => {
    const s = scratch(t);
    const [lower, upper, work, target] = s.mkdirs('lower', 'upper', 'work', 'm');
    s.write({ 'lower/f': 'lower' });
    const m = await mount({ lower: [lower], upper, work, target });
    fs.writeFileSync(s.path('m/before'), 'rw');

    t.same(await remount(target, { readOnly: true, mechanism }), { mechanism });
    t.throws(() => fs.writeFileSync(s.path('m/during'), 'ro'), { code: 'EROFS' });
    t.match(mountFlags(target), /^ro,/, 'the mount is read-only');
    t.match(superFlags(target), /^ro,/, 'and so is the superblock');
    t.equal(s.read('m/f'), 'lower', 'still readable');

    remountSync(target, { readOnly: false, mechanism });
    fs.writeFileSync(s.path('m/after'), 'rw again');
    t.match(mountFlags(target), /^rw,/);
    t.match(superFlags(target), /^rw,/);
    t.same(fs.readdirSync(upper).sort(), ['after', 'before']);

    remountSync(target, { nosuid: true, nodev: true, noexec: true, noatime: true, mechanism });
    t.equal(mountFlags(target), 'rw,nosuid,nodev,noexec,noatime', 'per-mount flags set');
    remountSync(target, { nosuid: false, noexec: false, atime: 'relatime', mechanism });
    t.equal(mountFlags(target), 'rw,nodev,relatime', 'only the named flags change');
    await m.unmount();
  });
}

t.test('a bare remount reconfigures the overlay as it is', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'm');
  const m = mountSync({ lower: [a, b], target, nodev: true });
  const before = topMount(target);
  t.same(remountSync(target), { mechanism: 'new-api' });
  t.same(topMount(target), before, 'nothing changed');
  m.unmountSync();
});

t.test('refusals: layers, unknown options, no mount, not an overlay; nothing changed, no fd left', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, target, plain, tmpfs] = s.mkdirs('a', 'b', 'm', 'plain', 'tmpfs');
  const m = mountSync({ lower: [a, b], target });
  const before = topMount(target);
  const fds = openFdCount();
  for (const field of ['lower', 'upper', 'work', 'data', 'idmap', 'metacopy', 'redirectDir']) {
    const options = { [field]: field === 'lower' ? [a] : 'x' } as unknown as RemountOptions;
    t.throws(() => remountSync(target, options), { code: 'EINVAL', field, message: /cannot change its layers.*replace\(\)/ }, field);
  }
  await t.rejects(remount(target, { bogus: true } as unknown as RemountOptions), { code: 'EINVAL', field: 'bogus' });
  t.throws(() => remountSync(target, { readOnly: 'yes' as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE', field: 'readOnly' });
  t.throws(() => remountSync(plain, { readOnly: true }), { code: 'EINVAL', field: 'target', message: /nothing is mounted/ });
  await t.rejects(remount(s.path('missing'), {}), { code: 'ENOENT', syscall: 'open' });
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', tmpfs]);
  t.throws(() => remountSync(tmpfs, { readOnly: true }), { code: 'EINVAL', message: /not an overlay/ });
  t.match(mountFlags(tmpfs), /^rw,/, 'the tmpfs is untouched');
  execFileSync('umount', [tmpfs]);
  t.same(topMount(target), before, 'the overlay is untouched');
  t.equal(openFdCount(), fds, 'no fd left open');
  m.unmountSync();
});

// Seed 000: `lowerdir=/`, upper and work on a tmpfs, `root` and `tmp` opaque in
// the upper, `mount -o remount`, chroot: both empty, the rest of the host shows.
// The walkthrough's own tools: python3 sets the xattrs, and the host root is a full system (the arm64 guest's is busybox and node).
const walkthroughSkip = needsOverlay.skip || (!hasPython() && 'needs python3, as the walkthrough it follows');
t.test('the host root as a template: opaque root and tmp, remount, chroot', { skip: walkthroughSkip }, async (t) => {
  const s = scratch(t);
  const [state, target] = s.mkdirs('state', 'container');
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', state]);
  const [upper, work] = s.mkdirs('state/upper', 'state/work');
  const m = await mount({ lower: ['/'], upper, work, target });
  unmountAtEnd(t, m);
  // As the walkthrough does it: opaque directories made in the upper while mounted, then a remount.
  for (const dir of ['root', 'tmp']) {
    fs.mkdirSync(`${upper}/${dir}`);
    fs.chmodSync(`${upper}/${dir}`, fs.statSync(`/${dir}`).mode & 0o7777);
    execFileSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(`${upper}/${dir}`)}, 'trusted.overlay.opaque', b'y')`]);
  }
  await remount(target);

  const inChroot = (...args: string[]) => execFileSync('chroot', [target, ...args], { encoding: 'utf8', env: withoutPreload() });
  t.equal(inChroot('/bin/ls', '-A', '/root'), '', '/root is empty in the container');
  t.equal(inChroot('/bin/ls', '-A', '/tmp'), '', '/tmp is empty in the container (the host’s, with this test in it, is not)');
  t.ok(fs.readdirSync('/tmp').length > 0);
  t.equal(inChroot('/bin/cat', '/etc/hostname'), fs.readFileSync('/etc/hostname', 'utf8'), 'the rest of the host shows through');
  t.ok(inChroot('/bin/ls', '/usr/bin').split('\n').includes('ls'), 'host binaries too');
  inChroot('/bin/sh', '-c', 'echo container > /etc/overlay-native-seed-test');
  t.notOk(fs.existsSync('/etc/overlay-native-seed-test'), 'a write in the container never reaches the host');
  t.equal(fs.readFileSync(`${upper}/etc/overlay-native-seed-test`, 'utf8'), 'container\n', 'it lands in the upper on the tmpfs');
  await m.unmount();
  execFileSync('umount', [state]);
});
