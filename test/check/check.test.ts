// check() on real filesystems, each verdict held against what a real mount
// then does: this machine's disk, tmpfs, ramfs (no xattrs) and an ext4 image
// without the filetype feature (no d_type). Nothing may be left behind.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { check, checkSync, kernelFeatures, mountSync, type CheckResult, type FindingId, type FindingStatus } from '../../lib/index';
import { hasPython, mountExt4WithoutFiletype, mountTmpfs, snapshot } from '../helpers/filesystems';
import { superOptions, unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

const canSnapshot = hasPython();

function status(r: CheckResult, id: FindingId): FindingStatus | undefined {
  return r.findings.find((f) => f.id === id)?.status;
}

function notOk(r: CheckResult): string[] {
  return r.findings.filter((f) => f.status === 'warn' || f.status === 'fail').map((f) => `${f.id}:${f.status}`).sort();
}

interface Stack {
  lower: string;
  upper: string;
  work: string;
  target: string;
}

/** A lower with a file, a directory holding a file, and an empty directory; upper and work under base. */
function stackOn(s: Scratch, base: string): Stack {
  const upper = path.join(base, 'upper');
  const work = path.join(base, 'work');
  fs.mkdirSync(upper);
  fs.mkdirSync(work);
  s.write({ 'lower/g': 'lower g', 'lower/d/f': 'lower f' });
  const [lower, target] = s.mkdirs('lower', 'merged');
  fs.mkdirSync(path.join(lower!, 'e'));
  return { lower: lower!, upper, work, target: target! };
}

/** check() must leave upper and work exactly as they were: entries, contents, xattrs. */
function checkLeavingNothing(t: Test, st: Stack): CheckResult {
  const before = canSnapshot ? [snapshot(st.upper), snapshot(st.work)] : [];
  const result = checkSync({ upper: st.upper, work: st.work, lower: [st.lower] });
  if (canSnapshot) t.same([snapshot(st.upper), snapshot(st.work)], before, 'upper and work unchanged, xattrs included');
  else t.same([fs.readdirSync(st.upper), fs.readdirSync(st.work)], [[], []], 'upper and work still empty (no python3 to compare xattrs)');
  return result;
}

function mountStack(t: Test, st: Stack) {
  const m = mountSync({ lower: [st.lower], upper: st.upper, work: st.work, target: st.target });
  unmountAtEnd(t, m);
  return m;
}

/** What a fully working overlay does: whiteouts hidden, lower directories removable, no fallbacks. */
function expectFullOverlay(t: Test, st: Stack): void {
  const m = mountStack(t, st);
  const opts = superOptions(st.target);
  t.notOk(opts.includes('uuid=null'), 'no uuid=null fallback');
  t.notOk(opts.includes('redirect_dir=nofollow'), 'no redirect_dir=nofollow fallback');
  fs.unlinkSync(path.join(st.target, 'g'));
  t.notOk(fs.readdirSync(st.target).includes('g'), 'a deleted lower file is gone from the listing');
  fs.rmdirSync(path.join(st.target, 'e'));
  fs.mkdirSync(path.join(st.target, 'e'));
  t.same(fs.readdirSync(path.join(st.target, 'e')), [], 'a lower directory can be replaced by a new one');
  fs.unlinkSync(path.join(st.target, 'd', 'f'));
  fs.rmdirSync(path.join(st.target, 'd'));
  t.notOk(fs.existsSync(path.join(st.target, 'd')), 'a lower directory emptied through the mount can be removed');
  m.unmountSync();
}

/** Whether the running kernel is at least major.minor. */
function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = os.release().split('.').map((n) => parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

t.test('an upper on this machine’s disk: ok, and a mount works fully', needsOverlay, async (t) => {
  const s = scratch(t);
  const st = stackOn(s, s.dir);
  const r = checkLeavingNothing(t, st);
  t.same(notOk(r), [], 'no warn or fail');
  t.equal(r.ok, true);
  t.equal(r.upper.fstype, execFileSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', st.upper], { encoding: 'utf8' }).trim(), 'fstype as findmnt says');
  // tmpfs (the disk of the VM test runs) has user.* xattrs from 6.6 on.
  const userXattr = r.upper.fstype === 'tmpfs' && !kernelAtLeast(6, 6) ? { state: 'unsupported', code: 'ENOTSUP' } : { state: 'supported' };
  t.same(r.probes, { dType: { state: 'supported' }, trustedXattr: { state: 'supported' }, userXattr, tmpfile: { state: 'supported' }, renameWhiteout: { state: 'supported' } });
  expectFullOverlay(t, st);
});

t.test('an upper on tmpfs: ok, and a mount works fully', needsOverlay, async (t) => {
  const s = scratch(t);
  const st = stackOn(s, mountTmpfs(s, 'tmp'));
  const r = checkLeavingNothing(t, st);
  t.equal(r.upper.fstype, 'tmpfs');
  t.same(notOk(r), []);
  t.equal(r.ok, true);
  expectFullOverlay(t, st);
});

t.test('an upper on ramfs (no xattrs): warns, and the mount falls back as said', needsOverlay, async (t) => {
  const s = scratch(t);
  const st = stackOn(s, mountTmpfs(s, 'ram', 'ramfs'));
  const r = checkLeavingNothing(t, st);
  t.equal(r.upper.fstype, 'ramfs');
  t.equal(r.ok, false);
  t.same(notOk(r), ['rename-whiteout:warn', 'xattr-trusted:warn']);
  t.match(r.probes.trustedXattr.code, /^(EOPNOTSUPP|ENOTSUP)$/, 'the same errno the kernel gets');
  t.equal(status(r, 'xattr-user'), 'info');
  t.match(r.findings.find((f) => f.id === 'xattr-trusted')?.meaning, /redirect_dir falls back to nofollow.*uuid to null/);

  mountStack(t, st);
  const opts = superOptions(st.target);
  if (kernelAtLeast(6, 6)) {
    // uuid=null exists since 6.6, and from then on mountinfo shows both fallbacks.
    t.ok(opts.includes('uuid=null'), 'the kernel fell back to uuid=null');
    t.ok(opts.includes('redirect_dir=nofollow'), 'the kernel fell back to redirect_dir=nofollow');
  }
  fs.rmdirSync(path.join(st.target, 'e'));
  t.throws(() => fs.mkdirSync(path.join(st.target, 'e')), { code: 'EIO' }, 'no directory where a lower one was deleted: it cannot be marked opaque');
  fs.unlinkSync(path.join(st.target, 'd', 'f'));
  t.throws(() => fs.rmdirSync(path.join(st.target, 'd')), { code: 'EIO' }, 'nor can an emptied lower directory be removed');
});

t.test('an upper on ext4 without filetype (no d_type): warns, and whiteouts show', needsOverlay, async (t) => {
  const s = scratch(t);
  const st = stackOn(s, mountExt4WithoutFiletype(s, 'nofiletype'));
  const r = checkLeavingNothing(t, st);
  t.equal(r.upper.fstype, 'ext4');
  t.equal(r.ok, false);
  t.same(notOk(r), ['d-type:warn'], 'd_type is all that is missing');

  mountStack(t, st);
  fs.unlinkSync(path.join(st.target, 'g'));
  t.ok(fs.readdirSync(st.target).includes('g'), 'the deleted file still shows in the listing, as the finding says');
  fs.unlinkSync(path.join(st.target, 'd', 'f'));
  t.throws(() => fs.rmdirSync(path.join(st.target, 'd')), { code: 'ENOTEMPTY' }, 'and its directory cannot be removed');
});

t.test('a leftover of a volatile mount: fail, and the kernel refuses the mount', needsOverlay, async (t) => {
  const s = scratch(t);
  const st = stackOn(s, mountTmpfs(s, 'tmp'));
  const v = mountSync({ lower: [st.lower], upper: st.upper, work: st.work, target: st.target, volatile: true });
  fs.writeFileSync(path.join(st.target, 'written'), 'never synced');
  v.unmountSync();

  const r = checkLeavingNothing(t, st);
  t.same(notOk(r), ['volatile-leftover:fail']);
  t.match(r.findings.find((f) => f.id === 'volatile-leftover')?.kernelSays, /incompat feature 'volatile'/);
  t.throws(() => mountSync({ lower: [st.lower], upper: st.upper, work: st.work, target: st.target }), { code: 'EINVAL' });
});

t.test('a read-only upper: fail, and the kernel refuses the mount', needsOverlay, async (t) => {
  const s = scratch(t);
  const base = mountTmpfs(s, 'tmp');
  const st = stackOn(s, base);
  execFileSync('mount', ['-o', 'remount,ro', base]);
  const r = checkSync({ upper: st.upper, work: st.work });
  t.equal(status(r, 'upper-read-only'), 'fail');
  t.equal(r.ok, false);
  t.throws(() => mountSync({ lower: [st.lower], upper: st.upper, work: st.work, target: st.target }), { code: 'EINVAL' });
});

t.test('an upper on an overlay: fail, and the kernel refuses the mount', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, inner, innerUpper, innerWork] = s.mkdirs('a', 'b', 'inner', 'inner-upper', 'inner-work');
  const under = mountSync({ lower: [a!], upper: innerUpper!, work: innerWork!, target: inner! });
  unmountAtEnd(t, under);
  fs.mkdirSync(path.join(inner!, 'upper'));
  fs.mkdirSync(path.join(inner!, 'work'));
  const r = checkSync({ upper: path.join(inner!, 'upper'), work: path.join(inner!, 'work') });
  t.equal(r.upper.fstype, 'overlay');
  t.equal(status(r, 'upper-overlay'), 'fail');
  const [target] = s.mkdirs('merged');
  t.throws(() => mountSync({ lower: [b!], upper: path.join(inner!, 'upper'), work: path.join(inner!, 'work'), target: target! }), { code: 'EINVAL' });
});

t.test('upper and work on two mounts, or nested: fail, and the mount is refused', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, target] = s.mkdirs('lower', 'merged');
  const one = mountTmpfs(s, 'one');
  const two = mountTmpfs(s, 'two');
  const twoMounts = checkSync({ upper: one, work: two });
  t.same(notOk(twoMounts), ['upper-work-mount:fail']);
  t.equal(twoMounts.probes.dType.state, 'untested', 'no probes on a filesystem that is not upper’s');
  t.throws(() => mountSync({ lower: [lower!], upper: one, work: two, target: target! }), { code: 'EXDEV' });

  fs.mkdirSync(path.join(one, 'work'));
  const nested = checkSync({ upper: one, work: path.join(one, 'work') });
  t.same(notOk(nested), ['upper-work-subtrees:fail']);
  t.throws(() => mountSync({ lower: [lower!], upper: one, work: path.join(one, 'work'), target: target! }), { code: 'EINVAL' });
});

t.test('missing directories are findings, not exceptions; bad arguments throw', async (t) => {
  const s = scratch(t);
  const r = await check({ upper: s.path('no-upper'), work: s.path('no-work'), lower: [s.path('no-lower')] });
  t.equal(r.ok, false);
  t.same(notOk(r), ['lower-directory:fail', 'upper-directory:fail', 'work-directory:fail']);
  t.equal(r.upper.error, 'ENOENT');
  t.throws(() => checkSync({ upper: '', work: '/x' }), { code: 'EINVAL' });
  t.throws(() => checkSync({ upper: 3 as unknown as string, work: '/x' }), TypeError);
  t.throws(() => checkSync(null as unknown as { upper: string; work: string }), TypeError);
});

t.test('Promise and Sync agree; the kernel section is the engine’s probe', needsOverlay, async (t) => {
  const s = scratch(t);
  const [upper, work] = s.mkdirs('upper', 'work');
  const a = await check({ upper: upper!, work: work! });
  const b = checkSync({ upper: upper!, work: work! });
  t.same(a, b);
  const k = kernelFeatures();
  t.match(a.kernel, { ...k, xattrWhiteoutsFrom: 'probe' });
  const [major, minor] = a.kernel.release.split('.').map(Number);
  t.equal(a.kernel.xattrWhiteouts, major! > 6 || (major === 6 && minor! >= 7), 'the probe agrees with the version table');
  t.same(fs.readdirSync('/tmp').filter((n) => n.startsWith('overlay-native-xwhiteout-')), [], 'the xattr-whiteout probe left nothing in /tmp');
});

t.test('userxattr: judged by user.overlay.*', needsOverlay, async (t) => {
  const s = scratch(t);
  const st = stackOn(s, mountTmpfs(s, 'ram', 'ramfs'));
  const r = checkSync({ upper: st.upper, work: st.work, userxattr: true });
  t.equal(status(r, 'xattr-user'), 'warn');
  t.equal(status(r, 'xattr-trusted'), 'info');
});

t.test('no loop device is left behind', async (t) => {
  const out = execFileSync('losetup', ['-a'], { encoding: 'utf8' });
  t.notMatch(out, /nofiletype\.img/);
});
