// Idmapped lower layers: ids shifted through the overlay, the lower itself
// unchanged; maps checked before the kernel; every refusal leaves nothing.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { kernelFeatures, mount, mountSync, replaceSync, type IdmapOptions, type MountOptions } from '../../lib/index';
import { childPids, openFdCount } from '../helpers/live';
import { mountsAt, topMount, waitFor } from '../helpers/mounts';
import { needsIdmap, needsUserNamespaces } from '../helpers/idmap';
import { scratch } from '../helpers/scratch';

const SHIFT: IdmapOptions = { uidMap: [[0, 100000, 65536]], gidMap: [[0, 200000, 65536]] };

t.test('maps are validated before the kernel, naming the field', async (t) => {
  const base: MountOptions = { lower: ['/a', '/b'], target: '/m' };
  const cases: Array<[unknown, string, RegExp]> = [
    [{}, 'idmap', /needs uidMap, gidMap or userns/],
    [[], 'idmap', /must be an object/],
    [{ uidMap: [[0, 1, 1]], color: 1 }, 'idmap.color', /not an idmap option/],
    [{ uidMap: 'x' }, 'idmap.uidMap', /array/],
    [{ uidMap: [] }, 'idmap.uidMap', /at least one range/],
    [{ uidMap: [[0, 1]] }, 'idmap.uidMap[0]', /\[inside, outside, count\]/],
    [{ uidMap: [[0, -1, 1]] }, 'idmap.uidMap[0][1]', /between 0 and/],
    [{ gidMap: [[0, 1.5, 1]] }, 'idmap.gidMap[0][1]', /integer/],
    [{ uidMap: [[0, 1, 0]] }, 'idmap.uidMap[0][2]', /between 1 and/],
    [{ uidMap: [[4294967290, 0, 10]] }, 'idmap.uidMap[0]', /inside range .* goes past/],
    [{ uidMap: [[0, 4294967290, 10]] }, 'idmap.uidMap[0]', /outside range .* goes past/],
    [{ uidMap: [[0, 1000, 10], [5, 5000, 10]] }, 'idmap.uidMap[1]', /inside range overlaps idmap.uidMap\[0\]/],
    [{ gidMap: [[0, 1000, 10], [100, 1005, 1]] }, 'idmap.gidMap[1]', /outside range overlaps idmap.gidMap\[0\]/],
    [{ uidMap: Array.from({ length: 341 }, (_, i) => [i, i + 1000, 1]) }, 'idmap.uidMap', /at most 340/],
    [{ userns: '/proc/1/ns/user', uidMap: [[0, 1, 1]] }, 'idmap.userns', /cannot be combined/],
    [{ userns: '' }, 'idmap.userns', /path/],
  ];
  for (const [idmap, field, message] of cases) {
    t.throws(() => mountSync({ ...base, idmap: idmap as IdmapOptions }), { code: 'EINVAL', field, message }, JSON.stringify(idmap).slice(0, 60));
  }
  t.throws(() => replaceSync('/m', { lower: ['/a', '/b'], idmap: { uidMap: [[0, 1, 0]] } }), { code: 'EINVAL', field: 'idmap.uidMap[0][2]' });
});

t.test('mount(2) mechanisms (all 6.1 has): idmapped layers attached in a private namespace, nothing left', needsUserNamespaces, async (t) => {
  const s = scratch(t);
  const [lower, data, upper, work, target] = s.mkdirs('lower', 'data', 'upper', 'work', 'm');
  s.write({ 'lower/root-file': 'r', 'data/d': '' });
  for (const mechanism of ['mount', 'mount-fd-path', 'mount-fd-relative'] as const) {
    const children = childPids();
    const fds = openFdCount();
    const m = mountSync({ lower: [lower, data], upper, work, target, idmap: SHIFT, mechanism });
    t.equal(m.mechanism, mechanism);
    const shown = fs.statSync(path.join(target, 'root-file'));
    t.same([shown.uid, shown.gid], [100000, 200000], `${mechanism}: root's file through the overlay`);
    fs.writeFileSync(path.join(target, 'new'), '');
    t.ok(fs.existsSync(s.path('upper/new')), 'writes land in upper');
    t.same(mountsAt(lower), [], 'no bind mount of the layer on disk');
    t.equal(mountsAt(target).length, 1, 'one overlay on the target');
    m.unmountSync();
    fs.rmSync(s.path('upper/new'));
    t.same(mountsAt(target), []);
    t.same(childPids(), children, 'the user-namespace child was reaped');
    t.equal(openFdCount(), fds, 'no fd left open');
  }
});

// clone(CLONE_NEWUSER) is refused (EPERM) to a process whose root is not its
// mount namespace's root, as in the VM runner's chroot.

for (const mechanism of ['fsconfig-fd', 'fsconfig-path'] as const) {
  t.test(`a file owned by 0 shows as 100000; the lower is unchanged (${mechanism})`, needsIdmap, async (t) => {
    if (mechanism === 'fsconfig-fd' && !kernelFeatures().layerFd) {
      t.pass('no fd layers on this kernel');
      return;
    }
    const s = scratch(t);
    const [lower, data, upper, work, target] = s.mkdirs('lower', 'data', 'upper', 'work', 'm');
    s.write({ 'lower/root-file': 'r', 'lower/user-file': 'u' });
    fs.chownSync(s.path('lower/user-file'), 1000, 1000);
    const children = childPids();
    const fds = openFdCount();
    const m = await mount({ lower: [lower, data], upper, work, target, idmap: SHIFT, mechanism });
    t.equal(m.mechanism, mechanism);
    const shown = fs.statSync(path.join(target, 'root-file'));
    t.same([shown.uid, shown.gid], [100000, 200000], 'root’s file through the overlay');
    const user = fs.statSync(path.join(target, 'user-file'));
    t.same([user.uid, user.gid], [101000, 201000], 'a user’s file shifted too');
    const onDisk = fs.statSync(s.path('lower/root-file'));
    t.same([onDisk.uid, onDisk.gid], [0, 0], 'the lower itself is unchanged');
    // By fd a detached tree shows as `/`; where overlay refuses detached trees
    // (6.12; not 6.18) the library attaches them in a private namespace first,
    // and the fd then names the layer's own path.
    const layersShown = mechanism === 'fsconfig-fd' ? /lowerdir\+=(\/|\S+\/lower),lowerdir\+=(\/|\S+\/data),/ : /lowerdir\+=\/proc\/self\/fd\//;
    t.match(topMount(target)?.superOptions, layersShown, 'mountinfo shows no path of the idmapped layer on disk, or its plain one');
    t.same(mountsAt(lower), [], 'no bind mount of the layer on disk');
    t.same(childPids(), children, 'the user-namespace child was reaped');
    t.equal(openFdCount(), fds, 'no fd left open');
    await m.unmount();
  });
}

t.test('idmap from an existing user namespace (userns path)', needsUserNamespaces, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'm');
  s.write({ 'a/root-file': '', 'a/user-file': '' });
  fs.chownSync(s.path('a/user-file'), 1000, 1000);
  // root maps to root and nothing else: other ids become the overflow id.
  const holder = spawn('unshare', ['--user', '--map-root-user', 'sleep', '60'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => holder.on('exit', resolve));
  t.teardown(async () => {
    holder.kill('SIGKILL');
    await exited;
  });
  const userns = `/proc/${holder.pid}/ns/user`;
  // unshare enters the namespace first and writes uid_map, then gid_map, then execs sleep:
  // wait for the exec, so that both maps are in place (the VM's 6.1 once mounted in between).
  await waitFor('unshare to write its maps and exec sleep', () => fs.readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() === 'sleep');
  const m = mountSync({ lower: [a, b], target, idmap: { userns } });
  t.equal(fs.statSync(path.join(target, 'root-file')).uid, 0);
  t.equal(fs.statSync(path.join(target, 'user-file')).uid, 65534, 'unmapped ids show as the overflow id');
  m.unmountSync();
});

t.test('refusals: not a user namespace, a filesystem without idmap; nothing left', needsUserNamespaces, async (t) => {
  const s = scratch(t);
  const [a, b, ramfs, target] = s.mkdirs('a', 'b', 'ramfs', 'm');
  execFileSync('mount', ['-t', 'ramfs', 'ramfs', ramfs]);
  const children = childPids();
  const fds = openFdCount();
  t.throws(() => mountSync({ lower: [a, b], target, idmap: { userns: '/proc/self/ns/mnt' } }), {
    code: 'EINVAL',
    field: 'idmap.userns',
    message: /not a user namespace/,
  });
  t.throws(() => mountSync({ lower: [a, b], target, idmap: { userns: '/etc/hostname' } }), { field: 'idmap.userns', message: /not a namespace file/ });
  t.throws(() => mountSync({ lower: [a, b], target, idmap: { userns: s.path('nope') } }), { code: 'ENOENT', field: 'idmap.userns' });
  await t.rejects(mount({ lower: [a, ramfs], target, idmap: SHIFT }), {
    code: 'EINVAL',
    syscall: 'mount_setattr',
    field: 'lower[1]',
    message: /cannot be idmapped/,
  });
  t.same(mountsAt(target), [], 'nothing mounted');
  t.equal(openFdCount(), fds, 'no fd left open');
  t.same(childPids(), children, 'no child left');
  execFileSync('umount', [ramfs]);
});

t.test('replace into an idmapped stack', { skip: needsUserNamespaces.skip || (!kernelFeatures().moveMountBeneath && 'no MOVE_MOUNT_BENEATH') || (!kernelFeatures().lowerdirPlus && 'no lowerdir+') }, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'm');
  s.write({ 'a/f': '' });
  mountSync({ lower: [a, b], target });
  t.equal(fs.statSync(path.join(target, 'f')).uid, 0);
  const m = replaceSync(target, { lower: [a, b], idmap: SHIFT });
  t.equal(fs.statSync(path.join(target, 'f')).uid, 100000);
  m.unmountSync();
  t.same(mountsAt(target), []);
});
