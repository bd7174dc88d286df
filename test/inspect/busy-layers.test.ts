// index=on: an upper or work another overlay uses is refused by the kernel
// with a bare EBUSY naming the target. mount refuses it first (as without
// index, lib/inspect/live-writers.ts); a kernel EBUSY that still comes (a holder
// mounted in between) names the layer and the mount in its detail.
import t from 'tap';
import { mount, mountSync, OverlayError } from '../../lib/index';
import { explainBusyLayer } from '../../lib/inspect/busy-layers';
import { toNativeRequest } from '../../lib/request/mount-request';
import { mountsOn } from '../../lib/internal';
import { needsOverlay, scratch } from '../helpers/scratch';

t.test('a busy upper or work is named, with the overlay that holds it', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, upper, work, work2, upper2, m1, m2] = s.mkdirs('a', 'b', 'u', 'w', 'w2', 'u2', 'm1', 'm2') as string[];
  const first = mountSync({ lower: [a!], upper: upper!, work: work!, target: m1!, index: true });
  t.teardown(() => (first.mounted ? first.unmountSync() : undefined));
  const request = { lower: [b!], upper: upper!, work: work2!, target: m2!, index: true };
  t.throws(() => mountSync(request), { name: 'OverlayError', code: 'EBUSY', field: 'upper', message: new RegExp(`is the upper .* \\(mount id ${first.mountId}\\); with index=on the kernel refuses`) });
  await t.rejects(mount({ lower: [b!], upper: upper2!, work: upper!, target: m2!, index: true }), { code: 'EBUSY', field: 'work', message: /is the upper of the overlay mounted on|is the upper \(/ }, 'the work of one being the upper of another');
  t.same(mountsOn(m2!), [], 'nothing mounted');

  // The kernel's own refusal, as it comes when the holder appeared after the check.
  const kernelSaid = new OverlayError({ errno: 16, syscall: 'fsconfig', path: m2!, detail: ['e overlay: ...'] });
  t.match(explainBusyLayer(kernelSaid, toNativeRequest(request)), {
    code: 'EBUSY',
    syscall: 'fsconfig',
    field: 'upper',
    detail: ['e overlay: ...', new RegExp(`upper '${upper}' is in use as the upper of the overlay mounted on '${m1}' \\(mount id ${first.mountId}\\)`)],
  });
  first.unmountSync();
  t.equal(explainBusyLayer(kernelSaid, toNativeRequest(request)), kernelSaid, 'no holder: the error as it was');
});
