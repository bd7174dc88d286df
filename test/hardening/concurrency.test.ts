// Many Promise mounts at once, and two racing for one target: defined
// results, never a crash, nothing left behind.
import * as fs from 'node:fs';
import t from 'tap';
import { mount, umount, OverlayError } from '../../lib/index';
import { needsOverlay, scratch } from '../helpers/scratch';
import { mountsBeneath } from '../helpers/mounts';

t.test('200 parallel Promise mounts and unmounts of different targets', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b] = s.mkdirs('a', 'b');
  s.write({ 'a/f': 'shared' });
  const ids = Array.from({ length: 200 }, (_, i) => i);
  const mounts = await Promise.all(
    ids.map((i) => {
      const [upper, work, target] = s.mkdirs(`u${i}`, `w${i}`, `m${i}`);
      return mount({ lower: [a, b], upper: upper!, work: work!, target: target! });
    }),
  );
  t.equal(new Set(mounts.map((m) => m.mountId)).size, 200, '200 distinct mounts');
  t.ok(ids.every((i) => s.read(`m${i}/f`) === 'shared'), 'each reads through');
  await Promise.all(mounts.map((m) => m.unmount()));
  t.same(mountsBeneath(s.dir), [], 'all unmounted');
});

t.test('two mounts racing for one target', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, c, target] = s.mkdirs('a', 'b', 'c', 'merged');
  for (let round = 0; round < 50; round++) {
    const results = await Promise.allSettled([mount({ lower: [a, b], target }), mount({ lower: [b, c], target })]);
    for (const r of results) {
      if (r.status === 'rejected') t.type(r.reason, OverlayError);
    }
    // Both may stack on the target; unmount until nothing is left.
    const mounted = results.filter((r) => r.status === 'fulfilled').length;
    for (let i = 0; i < mounted; i++) await umount(target);
  }
  t.same(mountsBeneath(s.dir), [], 'nothing left');
  t.same(fs.readdirSync(target), []);
});
