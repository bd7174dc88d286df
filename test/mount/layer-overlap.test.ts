// Overlapping layers are refused before the kernel, naming the layer: the
// kernel's own refusal is ELOOP ("too many symbolic links") naming the target.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { kernelFeatures, mountSync, replaceSync } from '../../lib/index';
import { mountsOn } from '../../lib/internal';
import { needsOverlay, scratch } from '../helpers/scratch';

const overlapping = (field: string, message: RegExp) => ({ name: 'OverlayError', code: 'ELOOP', field, message, beforeKernel: true });

t.test('the same directory twice, or one layer inside another, is refused naming the layer', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, sub, b, upper, work, target] = s.mkdirs('a', 'a/sub', 'b', 'u', 'w', 'merged');
  fs.symlinkSync(a!, s.path('link-to-a'));
  fs.mkdirSync(s.path('u/inner'));
  const cases: Array<[string, object, string, RegExp]> = [
    ['a lower twice', { lower: [a, b, a] }, 'lower[2]', /is the same directory as lower\[0\]/],
    ['a lower twice, through a symlink', { lower: [a, s.path('link-to-a')] }, 'lower[1]', /same directory as lower\[0\]/],
    ['a lower twice, through ..', { lower: [a, `${sub}/..`] }, 'lower[1]', /same directory as lower\[0\]/],
    ['a lower inside another', { lower: [sub, a] }, 'lower[0]', /lies inside lower\[1\]/],
    ['a lower holding another', { lower: [a, sub] }, 'lower[1]', /lies inside lower\[0\]/],
    ['a lower that is the upper', { lower: [upper, b], upper, work }, 'lower[0]', /same directory as upper/],
    ['a lower that is the work', { lower: [work, b], upper, work }, 'lower[0]', /same directory as work/],
    ['a lower inside the upper', { lower: [s.path('u/inner'), b], upper, work }, 'lower[0]', /lies inside upper/],
  ];
  for (const [what, layers, field, message] of cases) {
    t.throws(() => mountSync({ ...layers, target: target! } as never), overlapping(field, message), what);
  }
  // Before 6.5 no data-only layer is taken at all, and that refusal comes first.
  const dataTwice = { lower: [a], data: [b, b], upper, work, metacopy: true, redirectDir: 'on', target: target! } as never;
  if (kernelFeatures().overlayParsesParams) t.throws(() => mountSync(dataTwice), overlapping('data[1]', /same directory as data\[0\]/), 'a data layer twice');
  else t.throws(() => mountSync(dataTwice), { code: 'ENOSYS', field: 'data' }, 'a data layer twice, before 6.5');
  t.same(mountsOn(target!), [], 'nothing was mounted');
});

t.test('an upper inside a lower is what the kernel allows, so it mounts', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, upper, work, target] = s.mkdirs('a', 'b', 'a/u', 'a/w', 'merged');
  const m = mountSync({ lower: [a!, b!], upper: upper!, work: work!, target: target! });
  t.ok(m.mounted);
  m.unmountSync();
});

t.test('layers on different filesystems never overlap, whatever their paths', needsOverlay, async (t) => {
  const s = scratch(t);
  const [b, sub, target] = s.mkdirs('b', 'b/sub', 'merged');
  // A tmpfs on b/sub: its path lies inside lower[1], its files on another filesystem.
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', sub!]);
  const m = mountSync({ lower: [sub!, b!], target: target! });
  t.ok(m.mounted);
  m.unmountSync();
  t.throws(() => mountSync({ lower: [sub!, sub!], target: target! }), overlapping('lower[1]', /same directory/));
});

t.test('replace refuses overlapping layers too, leaving the old stack', { skip: needsOverlay.skip || (!kernelFeatures().moveMountBeneath && 'no MOVE_MOUNT_BENEATH') }, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'merged');
  const m = mountSync({ lower: [a!, b!], target: target! });
  t.throws(() => replaceSync(target!, { lower: [b!, b!] }), overlapping('lower[1]', /same directory as lower\[0\]/));
  t.equal(mountsOn(target!).at(-1)?.mountId, m.mountId);
  m.unmountSync();
});
