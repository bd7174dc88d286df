// index=on: an upper or work another overlay uses is refused by the kernel
// with a bare EBUSY naming the target; the error names the layer and the mount.
import t from 'tap';
import { mount, mountSync } from '../lib/index';
import { mountsOn } from '../lib/mount-table';
import { needsOverlay, scratch } from './helpers/scratch';

t.test('a busy upper or work is named, with the overlay that holds it', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, upper, work, work2, upper2, m1, m2] = s.mkdirs('a', 'b', 'u', 'w', 'w2', 'u2', 'm1', 'm2') as string[];
  const first = mountSync({ lower: [a!], upper: upper!, work: work!, target: m1!, index: true });
  t.throws(() => mountSync({ lower: [b!], upper: upper!, work: work2!, target: m2!, index: true }), {
    name: 'OverlayError',
    code: 'EBUSY',
    field: 'upper',
    detail: [new RegExp(`upper '${upper}' is in use as the upper of the overlay mounted on ${m1} \\(mount id ${first.mountId}\\)`)],
  });
  await t.rejects(mount({ lower: [b!], upper: upper2!, work: upper!, target: m2!, index: true }), { code: 'EBUSY', field: 'work', detail: [/in use as the upper of the overlay mounted on/] }, 'the work of one being the upper of another');
  t.same(mountsOn(m2!), [], 'nothing mounted');
  first.unmountSync();
});
