// Propagation on mount and on remount, as mountinfo shows it.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { kernelFeatures, mount, mountSync, remountSync, type MechanismName, type Propagation } from '../../lib/index';
import { propagationFields } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

const SHOWN: Record<Propagation, RegExp> = {
  shared: /^shared:\d+$/,
  unbindable: /^unbindable$/,
  private: /^$/,
  slave: /^$/, // a slave of nothing: no master to show
};

for (const mechanism of ['fsconfig-fd', 'fsconfig-path', 'mount'] as MechanismName[]) {
  t.test(`mount with each propagation (${mechanism})`, needsOverlay, async (t) => {
    const k = kernelFeatures();
    const unavailable = (mechanism === 'fsconfig-fd' && !k.layerFd) || (mechanism === 'fsconfig-path' && !k.lowerdirPlus);
    if (unavailable) {
      t.pass(`${mechanism} is not on this kernel (the mechanisms test proves its refusal)`);
      return;
    }
    const s = scratch(t);
    for (const propagation of Object.keys(SHOWN) as Propagation[]) {
      const [a, b, target] = s.mkdirs(`${propagation}/a`, `${propagation}/b`, `${propagation}/m`);
      const m = await mount({ lower: [a, b], target, propagation, mechanism });
      t.match(propagationFields(target).join(' '), SHOWN[propagation], `${propagation} shown in mountinfo`);
      await m.unmount();
    }
  });
}

t.test('remount changes propagation; slave of a shared peer shows master', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, target, peer] = s.mkdirs('a', 'b', 'm', 'peer');
  const m = mountSync({ lower: [a, b], target, propagation: 'shared' });
  const [group] = propagationFields(target);
  t.match(group, /^shared:\d+$/);
  execFileSync('mount', ['--bind', target, peer]);
  t.same(propagationFields(peer), [group], 'the bind mount is its peer');
  remountSync(target, { propagation: 'slave' });
  t.same(propagationFields(target), [group!.replace('shared', 'master')], 'now a slave of its former peer group');
  remountSync(target, { propagation: 'private', mechanism: 'mount' });
  t.same(propagationFields(target), [], 'private through mount(2)');
  remountSync(target, { propagation: 'unbindable' });
  t.same(propagationFields(target), ['unbindable']);
  execFileSync('umount', [peer]);
  m.unmountSync();
});

t.test('propagation is validated before the kernel', async (t) => {
  t.throws(() => mountSync({ lower: ['/a', '/b'], target: '/m', propagation: 'rshared' as Propagation }), {
    code: 'EINVAL',
    field: 'propagation',
  });
  t.throws(() => remountSync('/m', { propagation: 'nope' as Propagation }), { code: 'EINVAL', field: 'propagation' });
});
