// Every rung of the engine's ladder mounts the same stack correctly: forced
// here, chosen by the kernel probe in normal use.
import * as fs from 'node:fs';
import t from 'tap';
import { kernelFeatures, mountSync, type MechanismName } from '../../lib/index';
import { topMount, unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

const ALL: MechanismName[] = ['fsconfig-fd', 'fsconfig-path', 'mount', 'mount-fd-path', 'mount-fd-relative'];

t.test('the probe picks the best mechanism this kernel offers', needsOverlay, async (t) => {
  const k = kernelFeatures();
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'm');
  const m = mountSync({ lower: [a, b], target });
  unmountAtEnd(t, m);
  const expected = k.layerFd ? 'fsconfig-fd' : k.lowerdirPlus ? 'fsconfig-path' : 'mount';
  t.equal(m.mechanism, expected, `kernel features ${JSON.stringify(k)}`);
  t.ok(m.mountId > 0);
  t.equal(topMount(target)?.mountId, m.mountId, 'mountId is mountinfo’s id');
  m.unmountSync();
});

for (const mechanism of ALL) {
  t.test(`mechanism ${mechanism}`, needsOverlay, async (t) => {
    const k = kernelFeatures();
    const needs = mechanism === 'fsconfig-fd' ? k.layerFd : mechanism === 'fsconfig-path' ? k.lowerdirPlus : true;
    if (!needs) {
      t.throws(() => mountSync({ lower: ['/', '/'], target: '/', mechanism }), Error, 'refused on a kernel without it');
      return;
    }
    const s = scratch(t);
    const [l1, l2, upper, work, target] = s.mkdirs('l,1', 'l:2', 'up per', 'wo\\rk', 'merged');
    s.write({ 'l,1/a': 'top', 'l:2/a': 'bottom', 'l:2/b': 'b' });
    const m = mountSync({ lower: [l1, l2], upper, work, target, mechanism });
    unmountAtEnd(t, m);
    t.equal(m.mechanism, mechanism);
    t.equal(s.read('merged/a'), 'top');
    t.equal(s.read('merged/b'), 'b');
    fs.writeFileSync(s.path('merged/c'), 'new');
    t.equal(s.read('up per/c'), 'new', 'writes land in the upper');
    m.unmountSync();
  });
}
