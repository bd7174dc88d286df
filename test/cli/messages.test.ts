// What ovl says and exits with where a message could say something false:
// umount's flag combinations and expiry mark, a command given several
// targets that did some (mount(8)'s 64), and an option given twice.
import * as fs from 'node:fs';
import t from 'tap';
import { isOpaqueSync } from '../../lib/index';
import { ovl, stderrJson } from '../helpers/cli';
import { mountsAt } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

t.test('umount --expire with --lazy or --force is a usage error; nothing is unmounted', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, merged] = s.mkdirs('a', 'b', 'merged');
  t.equal(ovl(['mount', '--lower', a!, '--lower', b!, merged!]).status, 0);
  for (const flag of ['-l', '--lazy', '-f', '--force']) {
    const r = ovl(['umount', flag, '--expire', merged!]);
    t.equal(r.status, 1, `${flag} --expire: exit 1`);
    t.match(r.stderr, /^ovl: umount: --expire cannot be combined with --(lazy|force) \(see 'ovl umount --help'\)\n$/, flag);
    t.notMatch(r.stderr, /not mounted/);
  }
  t.equal(mountsAt(merged!).length, 1, 'still mounted');
  t.equal(ovl(['umount', merged!]).status, 0);
});

t.test('umount --expire: the first marks (said so, exit 32), the second unmounts', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, merged] = s.mkdirs('a', 'b', 'merged');
  t.equal(ovl(['mount', '--lower', a!, '--lower', b!, merged!]).status, 0);
  t.teardown(() => (mountsAt(merged!).length ? ovl(['umount', '-l', merged!]) : undefined));
  const first = ovl(['umount', '--expire', merged!]);
  t.equal(first.status, 32, 'not unmounted yet');
  t.match(first.stderr, new RegExp(`^ovl: umount: EAGAIN: target: '${merged}' is marked for expiry, not unmounted: run 'ovl umount --expire' on it again`));
  t.notMatch(first.stderr, /temporarily unavailable|not mounted/);
  t.equal(mountsAt(merged!).length, 1, 'still mounted after the mark');
  const second = ovl(['umount', '--expire', merged!]);
  t.equal(second.status, 0, second.stderr);
  t.same(mountsAt(merged!), [], 'the second --expire unmounted it');
});

t.test('umount: EINVAL says "not mounted" only where nothing is mounted', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a] = s.mkdirs('a');
  const r = ovl(['umount', '--json', a!]);
  t.equal(r.status, 32);
  t.match(stderrJson(r), { code: 'EINVAL', message: /\(not mounted\)$/ });
});

t.test('several TARGETs, some unmounted: exit 64; all refused: the worst', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, m1, m2, empty] = s.mkdirs('a', 'b', 'm1', 'm2', 'empty');
  t.equal(ovl(['mount', '--lower', a!, '--lower', b!, m1!]).status, 0);
  t.equal(ovl(['mount', '--lower', a!, '--lower', b!, m2!]).status, 0);
  const some = ovl(['umount', m1!, empty!, m2!]);
  t.equal(some.status, 64, some.stderr);
  t.equal(some.stderr.trim().split('\n').length, 1, 'one line, for the TARGET refused');
  t.same([...mountsAt(m1!), ...mountsAt(m2!)], [], 'both overlays unmounted');
  t.equal(ovl(['umount', m1!, empty!]).status, 32, 'none unmounted: 32');
});

t.test('whiteout and opaque of several PATHs: some done, then a refusal: exit 64, what was done named', needsOverlay, async (t) => {
  const s = scratch(t);
  s.mkdirs('layer/d1', 'layer/d2');
  s.write({ 'layer/here': 'x', 'layer/d2/f': 'y' });
  // The same PATH twice passes the checks made before any is made (nothing is there yet); the second then fails.
  const twice = ovl(['whiteout', s.path('layer/gone'), s.path('layer/gone')]);
  t.equal(twice.status, 64, twice.stderr);
  t.match(twice.stderr, /^ovl: whiteout: made before the failure, and kept: .*layer\/gone\novl: whiteout: EEXIST/);
  t.ok(fs.lstatSync(s.path('layer/gone')).isCharacterDevice(), 'the first one made and kept');
  const json = ovl(['whiteout', '--json', s.path('layer/again'), s.path('layer/again')]);
  t.equal(json.status, 64);
  t.same(JSON.parse(json.stdout), [{ path: s.path('layer/again'), kind: 'chardev' }], 'with --json, what was made on stdout');
  t.match(stderrJson(json), { code: 'EEXIST', exitCode: 1 });
  const none = ovl(['whiteout', s.path('layer/here'), s.path('layer/other')]);
  t.equal(none.status, 1, 'refused by the checks before any is made: 1, nothing done');
  t.notOk(fs.existsSync(s.path('layer/other')));

  const opaque = ovl(['opaque', s.path('layer/d1'), s.path('layer/nope'), s.path('layer/d2')]);
  t.equal(opaque.status, 64, opaque.stderr);
  t.match(opaque.stderr, /^ovl: opaque: marked before the failure, and kept: .*layer\/d1\novl: opaque: ENOENT/);
  t.equal(isOpaqueSync(s.path('layer/d1')), 'y');
  t.equal(isOpaqueSync(s.path('layer/d2')), false, 'the run stopped at the refusal');
  const cleared = ovl(['opaque', '--json', '--clear', s.path('layer/d1'), s.path('layer/nope')]);
  t.equal(cleared.status, 64);
  t.same(JSON.parse(cleared.stdout), [{ path: s.path('layer/d1'), opaque: null }], 'what was done, on stdout');
});

t.test('an option given twice is refused naming it, in -o and as a flag', async (t) => {
  const r = ovl(['mount', '-o', 'lowerdir=/a:/b,upperdir=/u,workdir=/w,upperdir=/v', '/x']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^ovl: mount: EINVAL: upperdir: given more than once \('upperdir=\/u' and 'upperdir=\/v'\)/);
  const across = ovl(['mount', '--json', '-o', 'lowerdir=/a:/b,index=on', '-o', 'index=off', '/x']);
  t.match(stderrJson(across), { code: 'EINVAL', field: 'index', exitCode: 1 }, 'across two -o');
  const flag = ovl(['mount', '--lower', '/a', '--lower', '/b', '--upper', '/u', '--upper', '/v', '--work', '/w', '/x']);
  t.equal(flag.status, 1);
  t.match(flag.stderr, /^ovl: mount: --upper given more than once; it takes one value/);
});

t.test('a refusal overlay explains only in dmesg points there, also through fsconfig', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, merged] = s.mkdirs('a', 'b', 'merged');
  // Refused by 6.1, 6.12 and 6.18 ("conflicting options: nfs_export=on,index=off", in dmesg only), not before the kernel.
  const r = ovl(['mount', '-o', `lowerdir=${a}:${b},nfs_export=on,index=off,redirect_dir=nofollow`, merged!]);
  t.equal(r.status, 32, r.stderr);
  t.match(r.stderr, /\(the kernel's reason(, if it gave one,)? is in its log: see dmesg\)\n$/);
  t.same(mountsAt(merged!), []);
});
