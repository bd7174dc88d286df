// A replace detaches the old stack, and with it every mount made inside it:
// replace, OverlayMount's replace and apply's upgrade refuse a stack with a
// mount inside that they would not mount again, naming it, and change nothing.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { applySync, apply, kernelFeatures, mountSync, replace, replaceSync } from '../../lib/index';
import { mountsAt } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

const needsReplace = { skip: needsOverlay.skip || (!(kernelFeatures().moveMountBeneath && kernelFeatures().lowerdirPlus) && 'replace needs MOVE_MOUNT_BENEATH and lowerdir+ (6.8+)') };

t.test('replace refuses a stack with a tmpfs inside it; the tmpfs and its files stay', needsReplace, async (t) => {
  const s = scratch(t);
  const [target] = s.mkdirs('l1/run', 'l2/run', 'target');
  s.write({ 'l1/version': '1', 'l2/version': '2' });
  const lower1 = s.path('l1');
  const lower2 = s.path('l2');
  const [upper, work, work2] = s.mkdirs('u', 'w', 'w2');
  const stack = mountSync({ lower: [lower1], upper: upper as string, work: work as string, target: target as string });
  const next = { lower: [lower2], upper: upper as string, work: work2 as string };
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', `${target}/run`]);
  fs.writeFileSync(`${target}/run/state`, 'kept');
  const before = mountsAt(target as string).length;
  for (const [how, call] of [
    ['replaceSync', async () => replaceSync(target as string, next)],
    ['replace', () => replace(target as string, next)],
    ['OverlayMount.replaceSync', async () => stack.replaceSync(next)],
  ] as const) {
    await t.rejects(call(), { code: 'EBUSY', field: 'target', message: new RegExp(`${target}/run' \\(tmpfs, mount id \\d+\\)`) }, how);
    t.equal(mountsAt(target as string).length, before, `${how}: nothing mounted on the target`);
    t.equal(fs.readFileSync(`${target}/run/state`, 'utf8'), 'kept', `${how}: the tmpfs is still there`);
  }
  execFileSync('umount', [`${target}/run`]);
  replaceSync(target as string, next);
  t.equal(fs.readFileSync(`${target}/version`, 'utf8'), '2', 'with the tmpfs gone, the same replace goes ahead');
  t.equal(mountsAt(target as string).length, before, 'one stack on the target');
});

t.test("apply's upgrade refuses a stack with a mount inside that is not a declared stack's", needsReplace, async (t) => {
  const s = scratch(t);
  s.mkdirs('v1/data', 'v2/data', 'u', 'w', 'target', 'other', 'state');
  fs.writeFileSync(s.path('other/f'), 'bound');
  const stateFile = s.path('state/apply.json');
  const declare = (v: string) => ({ stacks: [{ name: 'web', target: s.path('target'), lower: [s.path(v)], upper: s.path('u'), work: s.path('w') }] });
  t.same(applySync(declare('v1'), { stateFile }).actions.map((a) => a.action), ['mount']);
  execFileSync('mount', ['--bind', s.path('other'), s.path('target/data')]);
  const top = mountsAt(s.path('target')).length;
  t.throws(() => applySync(declare('v2'), { stateFile }), { code: 'EBUSY', field: 'stacks[0].target', message: /stack 'web'.*target\/data' \(\w+, mount id \d+\)/ });
  await t.rejects(apply({ stacks: [] }, { stateFile }), { code: 'EBUSY', message: /stack 'web' \(no longer declared\)/ }, 'an unmount too');
  t.equal(mountsAt(s.path('target')).length, top, 'the stack was left as it was');
  t.equal(fs.readFileSync(s.path('target/data/f'), 'utf8'), 'bound', 'the bind mount is still inside it');
  execFileSync('umount', [s.path('target/data')]);
  t.same(applySync(declare('v2'), { stateFile }).actions.map((a) => a.action), ['replace'], 'once it is gone, the upgrade goes ahead');
  t.same(applySync({ stacks: [] }, { stateFile }).actions.map((a) => a.action), ['unmount']);
});
