// ovl on a live overlay: -o remount, --make-*, replace and --idmap, with
// `ovl ls --json` reading back the propagation; seed 000 end to end.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { withoutPreload } from '../helpers/env';
import t, { type Test } from 'tap';
import { kernelFeatures } from '../../lib/index';
import { lsJson, ovl, stderrJson } from '../helpers/cli';
import { mountTmpfs } from '../helpers/filesystems';
import { mountsAt, propagationFields } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

const needsBeneath = { skip: needsOverlay.skip || (!kernelFeatures().moveMountBeneath && 'no MOVE_MOUNT_BENEATH (6.5+)') };
const needsIdmap = { skip: needsOverlay.skip || (!kernelFeatures().lowerdirPlus && 'no lowerdir+ (6.8+)') };

function mustRun(t: Test, args: string[]): void {
  const r = ovl(args);
  t.equal(r.status, 0, `ovl ${args.join(' ')}: ${r.stderr}`);
}

t.test('-o remount: ro then rw, mount flags, and layers refused by the library', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, merged] = s.mkdirs('lower', 'upper', 'work', 'merged');
  mustRun(t, ['mount', '--lower', lower as string, '--upper', upper as string, '--work', work as string, merged as string]);
  const ro = ovl(['mount', '-o', 'remount,ro', merged as string]);
  t.equal(ro.status, 0, ro.stderr);
  t.equal(ro.stdout, '', 'silent');
  t.throws(() => fs.writeFileSync(s.path('merged/x'), ''), { code: 'EROFS' });
  t.equal(lsJson(merged as string)[0]?.mountOptions?.toString().split(',')[0], 'ro');
  mustRun(t, ['mount', '-o', 'remount', '-o', 'rw,nosuid,noexec', merged as string]);
  fs.writeFileSync(s.path('merged/x'), 'w');
  t.equal(s.read('upper/x'), 'w', 'writable again');
  t.match(lsJson(merged as string)[0]?.mountOptions, ['rw', 'nosuid', 'noexec']);
  const json = ovl(['mount', '--json', '-o', 'remount,suid,exec,noatime', merged as string]);
  t.match(JSON.parse(json.stdout), { target: merged, mechanism: /^(new-api|mount)$/ });
  t.same(lsJson(merged as string)[0]?.mountOptions, ['rw', 'noatime']);
  mustRun(t, ['mount', '-o', 'remount', merged as string]);

  const layers = ovl(['mount', '-o', 'remount,index=on', merged as string]);
  t.equal(layers.status, 1);
  t.match(layers.stderr, /^ovl: mount: EINVAL: index: overlay cannot change its layers or overlay options on remount/);
  t.match(stderrJson(ovl(['mount', '--json', '-o', 'remount', '--lower', lower as string, merged as string])), { field: 'lower', exitCode: 1 });
  const notMounted = ovl(['mount', '-o', 'remount', lower as string]);
  t.equal(notMounted.status, 1, 'refused before the kernel');
  t.match(notMounted.stderr, /nothing is mounted/);
  t.equal(mountsAt(lower as string).length, 0);
  mustRun(t, ['umount', merged as string]);
});

t.test('--make-*: on a new mount, alone on a mounted one, and as ls reports it', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, merged, peer] = s.mkdirs('a', 'b', 'merged', 'peer');
  mustRun(t, ['mount', '--make-shared', '--lower', a as string, '--lower', b as string, merged as string]);
  const [shared] = lsJson(merged as string);
  t.match(shared, { propagation: 'shared', peerGroup: Number, master: null });
  t.same(propagationFields(merged as string), [`shared:${shared?.peerGroup}`], 'as mountinfo says');

  execFileSync('mount', ['--bind', merged as string, peer as string]);
  mustRun(t, ['mount', '--make-slave', merged as string]);
  t.match(lsJson(merged as string)[0], { propagation: 'slave', master: shared?.peerGroup, peerGroup: null }, 'a slave of its former peers');
  mustRun(t, ['mount', '--make-unbindable', merged as string]);
  t.match(lsJson(merged as string)[0], { propagation: 'unbindable' });
  mustRun(t, ['mount', '--make-private', merged as string]);
  t.match(lsJson(merged as string)[0], { propagation: 'private', peerGroup: null, master: null });
  t.same(propagationFields(merged as string), []);

  const two = ovl(['mount', '--make-private', '--make-shared', merged as string]);
  t.equal(two.status, 1);
  t.match(two.stderr, /one of --make-private, --make-shared at most/);
  execFileSync('umount', [peer as string]);
  mustRun(t, ['umount', merged as string]);
});

t.test('replace: a new stack on the target, printed like mount', needsBeneath, async (t) => {
  const s = scratch(t);
  const [v1, v2, upper, work1, work2, merged] = s.mkdirs('v1', 'v2', 'upper', 'work1', 'work2', 'merged');
  s.write({ 'v1/version': '1', 'v2/version': '2' });
  mustRun(t, ['mount', '--lower', v1 as string, '--upper', upper as string, '--work', work1 as string, merged as string]);
  fs.writeFileSync(s.path('merged/mine'), 'kept');
  const before = lsJson(merged as string)[0]?.mountId;
  const r = ovl(['replace', '--json', '--make-private', '--lower', v2 as string, '--upper', upper as string, '--work', work2 as string, merged as string]);
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.match(out, { target: merged, mechanism: String, mountId: Number, warnings: Array });
  t.not(out.mountId, before, 'a new mount');
  t.equal(s.read('merged/version'), '2', 'the new lower shows');
  t.equal(s.read('merged/mine'), 'kept', 'the upper kept its writes');
  const stack = lsJson(merged as string);
  t.equal(stack.length, 1, 'the old stack is gone');
  t.match(stack[0], { mountId: out.mountId, lower: [v2], propagation: 'private' });

  const missing = ovl(['replace', '--lower', s.path('nope'), '--lower', v1 as string, merged as string]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /^ovl: replace: ENOENT/);
  t.equal(s.read('merged/version'), '2', 'a refusal leaves the stack');
  t.match(ovl(['replace', '-o', 'remount', merged as string]).stderr, /-o remount is for 'ovl mount'/);
  mustRun(t, ['umount', merged as string]);
});

t.test('--idmap: a root-owned lower file shows as uid 100000; flag errors name the flag', needsIdmap, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, merged] = s.mkdirs('lower', 'upper', 'work', 'merged');
  s.write({ 'lower/root-file': 'r' });
  mustRun(t, ['mount', '--idmap', 'uid:0:100000:65536', '--idmap', 'gid:0:200000:65536', '--lower', lower as string, '--upper', upper as string, '--work', work as string, merged as string]);
  const shown = fs.statSync(s.path('merged/root-file'));
  t.same([shown.uid, shown.gid], [100000, 200000]);
  t.same([fs.statSync(s.path('lower/root-file')).uid], [0], 'the lower is unchanged');
  mustRun(t, ['umount', merged as string]);
  mustRun(t, ['mount', '--idmap', 'uid:0:100000:65536', '--lower', lower as string, '--upper', upper as string, '--work', work as string, merged as string]);
  t.equal(fs.statSync(s.path('merged/root-file')).gid, 100000, 'a map left out is the same as the other');
  mustRun(t, ['umount', merged as string]);

  const cases: Array<[string[], RegExp]> = [
    [['--idmap', 'uid:0:100000'], /^ovl: mount: --idmap: 'uid:0:100000' is not uid:INSIDE:OUTSIDE:COUNT/],
    [['--idmap', 'pid:0:1:1'], /--idmap: 'pid:0:1:1'/],
    [['--idmap', 'uid:0:1:1', '--idmap-userns', '/proc/1/ns/user'], /--idmap and --idmap-userns cannot be combined/],
    [['--idmap', 'uid:0:1000:10', '--idmap', 'uid:5:5000:10'], /EINVAL: idmap\.uidMap\[1\]: inside range overlaps/],
  ];
  for (const [flags, message] of cases) {
    const r = ovl(['mount', ...flags, '--lower', lower as string, '--upper', upper as string, '--work', work as string, merged as string]);
    t.equal(r.status, 1, flags.join(' '));
    t.match(r.stderr, message);
  }
  t.same(mountsAt(merged as string), [], 'nothing mounted');
});

// Seed 000: the host's root as a container's template, upper and work on a tmpfs,
// root and tmp made opaque with `ovl opaque`, `ovl mount -o remount`, chroot.
t.test('seed 000 through ovl: opaque /root and /tmp over the host, remount, chroot', needsOverlay, async (t) => {
  const s = scratch(t);
  mountTmpfs(s, 'state');
  const [upper, work, target] = [...s.mkdirs('state/upper', 'state/work'), ...s.mkdirs('container')];
  mustRun(t, ['mount', '-o', 'lowerdir=/', '--upper', upper as string, '--work', work as string, target as string]);
  for (const dir of ['root', 'tmp']) {
    fs.mkdirSync(`${upper}/${dir}`);
    fs.chmodSync(`${upper}/${dir}`, fs.statSync(`/${dir}`).mode & 0o7777);
  }
  // The seed marks them in the upper of the mounted container (then remounts), hence --allow-mounted.
  mustRun(t, ['opaque', '--allow-mounted', '--root', upper as string, 'root', 'tmp']);
  t.equal(ovl(['opaque', '--get', '--root', upper as string, 'root', 'tmp']).stdout, 'root: y\ntmp: y\n');
  mustRun(t, ['mount', '-o', 'remount', target as string]);

  const inChroot = (...args: string[]) => execFileSync('chroot', [target as string, ...args], { encoding: 'utf8', env: withoutPreload() });
  t.equal(inChroot('/bin/ls', '-A', '/root'), '', '/root is empty in the container');
  t.equal(inChroot('/bin/ls', '-A', '/tmp'), '', '/tmp is empty in the container (the host’s, with this test in it, is not)');
  t.equal(inChroot('/bin/cat', '/etc/hostname'), fs.readFileSync('/etc/hostname', 'utf8'), 'the rest of the host shows through');
  mustRun(t, ['umount', target as string]);
});
