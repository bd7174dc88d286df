// A mount object acts only on the mount it made: never on a stack mounted on
// top of it, a mount made later on the same path, or the stack that replaced it.
import t from 'tap';
import { kernelFeatures, mount, mountSync, umountSync, type OverlayMount } from '../../lib/index';
import { mountById, mountsOn } from '../../lib/core/mount-table';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

function layers(s: Scratch, name: string): { lower: string[] } {
  const [a, b] = s.mkdirs(`${name}/a`, `${name}/b`);
  s.write({ [`${name}/a/which`]: name });
  return { lower: [a!, b!] };
}

function stillThere(m: OverlayMount): boolean {
  return mountById(m.mountId)?.target === m.target;
}

t.test('with a stack mounted on top, unmount refuses and removes nothing', needsOverlay, async (t) => {
  const s = scratch(t);
  const [target] = s.mkdirs('merged');
  const a = mountSync({ ...layers(s, 'A'), target: target! });
  const b = mountSync({ ...layers(s, 'B'), target: target! });
  t.throws(() => a.unmountSync(), { name: 'OverlayError', code: 'EBUSY', field: 'target', path: target, message: new RegExp(`mount id ${b.mountId}`) });
  await t.rejects(a.unmount(), { code: 'EBUSY' }, 'the Promise form refuses alike');
  t.ok(stillThere(a) && stillThere(b), 'both stacks are still mounted');
  t.ok(a.mounted, 'A is still mounted, beneath B');
  t.throws(() => a[Symbol.dispose](), { code: 'EBUSY' }, 'disposal refuses too, rather than removing B');
  t.ok(stillThere(b));
  b.unmountSync();
  a.unmountSync();
  t.same(mountsOn(target!), []);
});

t.test('a second unmount refuses and leaves the mount beneath', needsOverlay, async (t) => {
  const s = scratch(t);
  const [target] = s.mkdirs('merged');
  const base = mountSync({ ...layers(s, 'base'), target: target! });
  const m = await mount({ ...layers(s, 'top'), target: target! });
  await m.unmount();
  t.notOk(m.mounted);
  t.throws(() => m.unmountSync(), { code: 'EINVAL', field: 'target', message: /already unmounted/ });
  await t.rejects(m.unmount(), { code: 'EINVAL' });
  t.ok(stillThere(base), 'the mount beneath is untouched');
  await m[Symbol.asyncDispose]();
  t.ok(stillThere(base), 'disposal of an unmounted object does nothing');
  base.unmountSync();
});

t.test('after replace the old object owns nothing', { skip: needsOverlay.skip || (!kernelFeatures().moveMountBeneath && 'replace needs MOVE_MOUNT_BENEATH (6.5+)') }, async (t) => {
  const s = scratch(t);
  const [target] = s.mkdirs('merged');
  const old = mountSync({ ...layers(s, 'v1'), target: target! });
  const next = old.replaceSync(layers(s, 'v2'));
  t.notOk(old.mounted, 'the old object says it owns nothing');
  t.throws(() => old.unmountSync(), { code: 'EINVAL' });
  t.throws(() => old.replaceSync(layers(s, 'v3')), { code: 'EINVAL' }, 'nor can it replace again');
  t.equal(s.read('merged/which'), 'v2', 'the new stack is untouched');
  t.ok(next.mounted);
  old[Symbol.dispose]();
  t.ok(stillThere(next), 'disposal of the old object leaves the new stack');
  next.unmountSync();
});

t.test('a later mount on the same path, even with a reused mount id, is not taken for its own', needsOverlay, async (t) => {
  const s = scratch(t);
  const [target] = s.mkdirs('merged');
  const m = mountSync({ ...layers(s, 'mine'), target: target! });
  umountSync(target!); // someone else removes it
  const other = mountSync({ ...layers(s, 'other'), target: target! });
  t.comment(`mine had id ${m.mountId} (unique ${m.uniqueMountId}), the later mount has ${other.mountId} (unique ${other.uniqueMountId})`);
  if (m.uniqueMountId !== 0) {
    t.notOk(m.mounted, 'mounted tells the truth');
    t.throws(() => m.unmountSync(), { code: 'EINVAL', message: /no longer mounted/ });
    await t.rejects(m.unmount(), { code: 'EINVAL' });
    t.ok(stillThere(other), 'the later mount is untouched');
    await m[Symbol.asyncDispose]();
    t.ok(stillThere(other), 'so is it by disposal');
  } else if (other.mountId !== m.mountId) {
    t.notOk(m.mounted);
    t.throws(() => m.unmountSync(), { code: 'EINVAL' });
  } else {
    t.comment('before 6.8 a reused short id on the same path cannot be told apart (documented)');
  }
  other.unmountSync();
});

t.test('a mount unmounted by someone else is not mounted, and disposal does nothing', needsOverlay, async (t) => {
  const s = scratch(t);
  const [target] = s.mkdirs('merged');
  const m = mountSync({ ...layers(s, 'gone'), target: target! });
  t.ok(m.mounted);
  umountSync(target!);
  t.notOk(m.mounted);
  t.doesNotThrow(() => m[Symbol.dispose]());
  t.throws(() => m.unmountSync(), { code: 'EINVAL', message: new RegExp(`on ${target} now: no mount`) });
});

t.test('unmount options are strict: a typo is refused and nothing is unmounted', needsOverlay, async (t) => {
  const s = scratch(t);
  const [target] = s.mkdirs('merged');
  const m = mountSync({ ...layers(s, 'strict'), target: target! });
  t.throws(() => m.unmountSync({ lazy: true } as never), { code: 'EINVAL', field: 'lazy' });
  await t.rejects(m.unmount({ detach: 'yes' } as never), { code: 'ERR_INVALID_ARG_TYPE', field: 'detach' });
  t.ok(m.mounted, 'still mounted');
  m.unmountSync({ detach: true });
  t.notOk(m.mounted);
});
