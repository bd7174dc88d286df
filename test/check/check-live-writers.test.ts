// check() and `ovl doctor` on a live stack's upper and work: each reported
// as in use (fail, EBUSY, naming the target and the mount id), and nothing
// written inside the live work directory (its listing, and its work/work's,
// the same before and after).
import * as fs from 'node:fs';
import t from 'tap';
import { check, checkSync, mountSync } from '../../lib/index';
import { ovl } from '../helpers/cli';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

/** Every entry beneath `dir` (root reads work/work, mode 000), with its inode and mtime: a probe made and removed shows in the mtimes. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    for (const name of fs.readdirSync(p).sort()) {
      const st = fs.lstatSync(`${p}/${name}`);
      out.push(`${p.slice(dir.length)}/${name} ${st.ino} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(`${p}/${name}`);
    }
  };
  const st = fs.statSync(dir);
  out.push(`. ${st.ino} ${st.mtimeMs} ${st.ctimeMs}`);
  walk(dir);
  return out;
}

t.test("a live stack's upper and work: in use, named with the mount, and no probe inside", needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, merged, fresh] = s.mkdirs('lower', 'upper', 'work', 'merged', 'fresh');
  const live = unmountAtEnd(t, mountSync({ lower: [lower!], upper: upper!, work: work!, target: merged! }));
  const before = listing(work!);
  const named = { target: merged, mountId: live.mountId };

  const result = checkSync({ upper: upper!, work: work! });
  t.equal(result.ok, false);
  t.match(result.upper.inUse, { as: 'upper', path: upper, inside: false, ...named });
  t.match(result.work.inUse, { as: 'work', path: work, inside: false, ...named });
  const inUse = result.findings.filter((f) => f.id === 'upper-in-use' || f.id === 'work-in-use');
  t.match(inUse, [
    { id: 'upper-in-use', status: 'fail', summary: new RegExp(`^EBUSY: upper .* of the overlay mounted on '${merged}' \\(mount id ${live.mountId}\\)`) },
    { id: 'work-in-use', status: 'fail', summary: /EBUSY: work/, meaning: /probes were not run/ },
  ]);
  t.notOk(result.findings.some((f) => f.id === 'work-writable'), 'no probe ran');
  t.same(listing(work!), before, 'nothing written in the live work');

  const promised = await check({ upper: upper!, work: work! });
  t.same(promised.findings.map((f) => [f.id, f.status]), result.findings.map((f) => [f.id, f.status]), 'the Promise form says the same');
  t.same(listing(work!), before, 'nor by the Promise form');

  // Its work as another's upper, with a work of its own: the work probes run there, never in the live work.
  const swapped = checkSync({ upper: work!, work: fresh! });
  t.match(swapped.findings.find((f) => f.id === 'upper-in-use'), { status: 'fail', summary: /is the work/ });
  t.match(swapped.findings.find((f) => f.id === 'work-in-use'), { status: 'ok' });
  t.same(listing(work!), before);

  const r = ovl(['doctor', '--upper', upper!, '--work', work!]);
  t.equal(r.status, 1, r.stderr);
  t.match(r.stdout, new RegExp(`^fail EBUSY: upper '${upper}' is the upper .*'${merged}' \\(mount id ${live.mountId}\\)\\n {5}mount and apply refuse it`, 'm'));
  t.match(r.stdout, /^fail EBUSY: work /m);
  t.match(r.stdout, /kernel log: overlayfs: upperdir is in-use/);
  t.same(listing(work!), before, 'nor by ovl doctor');

  live.unmountSync();
  const after = checkSync({ upper: upper!, work: work! });
  t.match(after.findings.filter((f) => f.id.endsWith('-in-use')), [{ status: 'ok' }, { status: 'ok' }], 'once unmounted: in use no more');
  t.match(after.findings.find((f) => f.id === 'work-writable'), { status: 'ok' }, 'and the probes run');
});

t.test('a directory inside a live work is in use too', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, merged, upper2] = s.mkdirs('lower', 'upper', 'work', 'merged', 'upper2');
  unmountAtEnd(t, mountSync({ lower: [lower!], upper: upper!, work: work!, target: merged! }));
  const inner = s.path('work/work'); // the kernel's own, made at mount
  const before = listing(work!);
  const result = checkSync({ upper: upper2!, work: inner });
  t.match(result.work.inUse, { as: 'work', inside: true, path: work });
  t.match(result.findings.find((f) => f.id === 'work-in-use'), { status: 'fail', summary: /lies inside/ });
  t.same(listing(work!), before, 'nothing written inside it');
});
