// replace and the stack it replaces: the old mount's propagation is kept
// unless another is asked for, and an upper or work the live stack uses is
// refused before the kernel (which would mount on a work directory in use
// and only log "undefined behavior").
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { kernelFeatures, mountSync, replace, replaceSync } from '../../lib/index';
import { mountTmpfs } from '../helpers/filesystems';
import { mountsAt, propagationFields, topMount } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

const needsBeneath = { skip: needsOverlay.skip || (!kernelFeatures().moveMountBeneath && 'no MOVE_MOUNT_BENEATH (6.5+)') };

function kind(target: string): string {
  const fields = propagationFields(target);
  if (fields.some((f) => f.startsWith('master:'))) return 'slave';
  if (fields.some((f) => f.startsWith('shared:'))) return 'shared';
  return fields.includes('unbindable') ? 'unbindable' : 'private';
}

t.test('the old propagation is kept, under a shared parent too; an explicit one wins', needsBeneath, async (t) => {
  const s = scratch(t);
  const parent = mountTmpfs(s, 'parent');
  execFileSync('mount', ['--make-shared', parent]);
  const [a, b] = s.mkdirs('a', 'b');
  const [target] = s.mkdirs('parent/m');
  const layers = { lower: [a as string, b as string] };

  mountSync({ ...layers, target: target as string, propagation: 'private' });
  t.equal(kind(target as string), 'private');
  replaceSync(target as string, layers);
  t.equal(kind(target as string), 'private', 'not made shared by its parent');
  await replace(target as string, layers);
  t.equal(kind(target as string), 'private', 'the Promise form too');

  replaceSync(target as string, { ...layers, propagation: 'shared' });
  t.equal(kind(target as string), 'shared');
  replaceSync(target as string, layers);
  t.equal(kind(target as string), 'shared', 'kept');
  t.equal(mountsAt(target as string).length, 1, 'one mount on the target');
  execFileSync('umount', [target as string]);

  // The kernel attaches no unbindable mount under a shared parent: that one under a private parent.
  const privateParent = mountTmpfs(s, 'private');
  execFileSync('mount', ['--make-private', privateParent]);
  const [other] = s.mkdirs('private/m');
  mountSync({ ...layers, target: other as string, propagation: 'unbindable' });
  replaceSync(other as string, layers);
  t.equal(kind(other as string), 'unbindable', 'kept');
  execFileSync('umount', [other as string]);
});

t.test('a slave cannot be copied: refused until a propagation is given', needsBeneath, async (t) => {
  const s = scratch(t);
  const [a, b, target, peer] = s.mkdirs('a', 'b', 'm', 'peer');
  const layers = { lower: [a as string, b as string] };
  mountSync({ ...layers, target: target as string, propagation: 'shared' });
  execFileSync('mount', ['--bind', target as string, peer as string]);
  execFileSync('mount', ['--make-slave', target as string]);
  t.equal(kind(target as string), 'slave');
  const before = topMount(target as string);
  t.throws(() => replaceSync(target as string, layers), { code: 'EINVAL', field: 'propagation', message: /is a slave \(of peer group \d+\)/ });
  await t.rejects(replace(target as string, layers), { code: 'EINVAL', field: 'propagation' });
  t.same(topMount(target as string), before, 'the old stack stays');
  t.equal(mountsAt(target as string).length, 1, 'nothing mounted beneath');
  replaceSync(target as string, { ...layers, propagation: 'private' });
  t.equal(kind(target as string), 'private');
  execFileSync('umount', [peer as string]);
  execFileSync('umount', [target as string]);
});

t.test('an upper or work the live stack uses is refused, naming the field and the mount', needsBeneath, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, work2, target] = s.mkdirs('lower', 'upper', 'work', 'work2', 'm');
  const old = mountSync({ lower: [lower as string], upper: upper as string, work: work as string, target: target as string });
  const before = topMount(target as string);
  const cases: Array<[Parameters<typeof replaceSync>[1], string, string, RegExp]> = [
    [{ lower: [lower as string], upper: upper as string, work: work as string }, 'work', work as string, /is the work .* undefined behavior/],
    [{ lower: [lower as string], upper: work2 as string, work: s.path('work') }, 'work', work as string, /is the work/],
    [{ lower: [lower as string], upper: upper as string, work: work2 as string, index: true }, 'upper', upper as string, /is the upper .*index=on/],
  ];
  for (const [options, field, path, message] of cases) {
    t.throws(() => replaceSync(target as string, options), { code: 'EBUSY', field, path, message: new RegExp(`mount id ${old.mountId}\\)`) });
    await t.rejects(replace(target as string, options), { code: 'EBUSY', field, message });
    t.same(topMount(target as string), before, `${field}: the old stack stays`);
  }
  // Through another name of the same directory: compared by device and inode.
  execFileSync('ln', ['-s', work as string, s.path('work-link')]);
  t.throws(() => replaceSync(target as string, { lower: [lower as string], upper: upper as string, work: s.path('work-link') }), { code: 'EBUSY', field: 'work' });

  // The template update: the upper kept, a work of its own.
  const next = replaceSync(target as string, { lower: [lower as string], upper: upper as string, work: work2 as string });
  t.not(next.mountId, old.mountId);
  next.unmountSync();
  t.same(mountsAt(target as string), []);
});

t.test("OverlayMount's replace takes the same path: the live-stack checks and the old propagation", needsBeneath, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, work2, target] = s.mkdirs('lower', 'upper', 'work', 'work2', 'm');
  const old = mountSync({ lower: [lower as string], upper: upper as string, work: work as string, target: target as string, propagation: 'unbindable' });
  t.teardown(() => {
    if (mountsAt(target as string).length > 0) execFileSync('umount', [target as string]);
  });
  const before = topMount(target as string);
  const inUse = { lower: [lower as string], upper: upper as string, work: work as string };
  t.throws(() => old.replaceSync(inUse), { code: 'EBUSY', field: 'work', message: new RegExp(`mount id ${old.mountId}\\)`) });
  await t.rejects(old.replace(inUse), { code: 'EBUSY', field: 'work' });
  t.same(topMount(target as string), before, 'the old stack stays');
  t.ok(old.mounted, 'and the object still owns it');

  const next = old.replaceSync({ lower: [lower as string], upper: upper as string, work: work2 as string });
  t.notOk(old.mounted);
  t.equal(kind(target as string), 'unbindable', 'the old propagation is kept');
  const last = await next.replace({ lower: [lower as string], upper: upper as string, work: work as string });
  t.equal(kind(target as string), 'unbindable', 'by the Promise form too');
  last.unmountSync();
  t.same(mountsAt(target as string), []);
});
