// When any step of a mount fails, nothing remains: no mount, no fd, and the
// error names the layer or field at fault.
import * as fs from 'node:fs';
import t from 'tap';
import { kernelFeatures, mount, mountSync, type MechanismName } from '../../lib/index';
import { needsOverlay, scratch } from '../helpers/scratch';
import { mountsBeneath } from '../helpers/mounts';

const openFds = () => fs.readdirSync('/proc/self/fd').length;

t.test('layer 250 of 500 missing', needsOverlay, async (t) => {
  const s = scratch(t);
  const lower = Array.from({ length: 500 }, (_, i) => s.path(`l${i}`));
  lower.forEach((l, i) => i !== 249 && fs.mkdirSync(l));
  const [upper, work, target] = s.mkdirs('upper', 'work', 'merged');
  const before = openFds();
  t.throws(() => mountSync({ lower, upper, work, target }), { code: 'ENOENT', field: 'lower[249]', path: lower[249] });
  await t.rejects(mount({ lower, upper, work, target }), { code: 'ENOENT', field: 'lower[249]' });
  t.equal(openFds(), before, 'the 249 layers opened before it were closed');
  t.same(mountsBeneath(s.dir), []);
});

t.test('the kernel refusing, through every mechanism', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, upper, work, target] = s.mkdirs('a', 'b', 'upper', 'work', 'merged');
  s.mkdirs('work/work/incompat/volatile', 'u2/inner', 'w2');
  const k = kernelFeatures();
  const mechanisms: MechanismName[] = ['mount', 'mount-fd-path', 'mount-fd-relative'];
  if (k.lowerdirPlus) mechanisms.push('fsconfig-path');
  if (k.layerFd) mechanisms.push('fsconfig-fd');
  const before = openFds();
  for (const mechanism of mechanisms) {
    // A leftover volatile marker: the kernel refuses the whole mount.
    t.throws(() => mountSync({ lower: [a, b], upper, work, target, mechanism }), { name: 'OverlayError' }, mechanism);
    // Overlapping layers (a lower inside the upper): only the kernel checks that.
    t.throws(() => mountSync({ lower: [s.path('u2/inner')], upper: s.path('u2'), work: s.path('w2'), target, mechanism }), { code: 'ELOOP' }, `${mechanism}: overlap`);
  }
  t.equal(openFds(), before, 'no fd left open');
  t.same(mountsBeneath(s.dir), [], 'no mount left');
});
