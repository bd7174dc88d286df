// check() probes only inside the work directory it was given, and removes
// what a check killed half way (kill -9) left there; a running check's
// scratch directory is locked, so a second check never takes it for stale.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { check, checkSync } from '../../lib/index';
import { holdLock } from '../helpers/lock-holder';
import { needsOverlay, scratch } from '../helpers/scratch';

const PREFIX = '.overlay-native-check-';

function tmpProbeEntries(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('overlay-native'));
}

t.test('the probes leave nothing outside upper and work, nor in them', needsOverlay, async (t) => {
  const s = scratch(t);
  const [upper, work] = s.mkdirs('upper', 'work');
  const before = tmpProbeEntries();
  const result = checkSync({ upper: upper!, work: work! });
  t.equal(result.kernel.xattrWhiteoutsFrom, 'probe', 'the xattr-whiteout probe ran, inside work');
  await check({ upper: upper!, work: work! });
  t.same(tmpProbeEntries(), before, `nothing new in ${os.tmpdir()}`);
  t.same(fs.readdirSync(work!), [], 'work is as it was');
  t.same(fs.readdirSync(upper!), [], 'upper is untouched');
});

t.test('a scratch directory a killed check left is removed; a live one is not', needsOverlay, async (t) => {
  const s = scratch(t);
  const [upper, work] = s.mkdirs('upper', 'work');
  // What a check killed in the xattr-whiteout probe leaves, an hour old.
  const stale = path.join(work!, `${PREFIX}0123456789abcdef`);
  fs.mkdirSync(path.join(stale, 'xattr-whiteout/top/d'), { recursive: true });
  fs.mkdirSync(path.join(stale, 'dir'));
  fs.writeFileSync(path.join(stale, 'xattr-whiteout/top/d/f'), '');
  const hourAgo = new Date(Date.now() - 3600_000);
  fs.utimesSync(stale, hourAgo, hourAgo);
  // One as fresh as a check that has just made it: left alone.
  const fresh = path.join(work!, `${PREFIX}fedcba9876543210`);
  fs.mkdirSync(fresh);
  // One an hour old but locked by a live process (flock through a child).
  const locked = path.join(work!, `${PREFIX}00000000000000aa`);
  fs.mkdirSync(locked);
  fs.utimesSync(locked, hourAgo, hourAgo);
  const holder = await holdLock(t, locked, 'exclusive');

  const result = checkSync({ upper: upper!, work: work! });
  t.notOk(fs.existsSync(stale), 'the killed check’s leftover is gone');
  t.ok(fs.existsSync(fresh), 'a fresh one may be a check that is just starting: kept');
  t.ok(fs.existsSync(locked), 'a locked one belongs to a running check: kept');
  t.same(result.probes && result.findings.filter((f) => f.id === 'probe-cleanup'), [], 'nothing reported as left over');
  await holder.release();
});
