// The failures the kernel cannot be made to produce on demand, injected
// through the test addon's failure points (native/util/fault.h): a mount
// made on the target in the middle of replace(), an unmount refused, the
// mount(2) fallback failing after its mount is made. Each call either
// undoes what it did or fails saying exactly what it left.
import * as fs from 'node:fs';
import t from 'tap';
import { kernelFeatures, mountSync, type MountOptions, type ReplaceOptions } from '../../lib/index';
import { pack } from '../../lib/request/native-mount';
import { toNativeRequest, toReplaceRequest } from '../../lib/request/mount-request';
import { mountsAt } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';
import { testAddon, testAddonPath } from '../helpers/test-addon';

const EPERM = 1;
const ENOENT = 2;
const EIO = 5;

/** The mounts on `target`, bottom first (each on the one before): mount id, parent id, filesystem type. */
function stackOn(target: string): Array<{ id: number; parent: number; fstype: string }> {
  const mounts = mountsAt(target).map((m) => ({ id: m.mountId, parent: m.parentId, fstype: m.fstype }));
  // mountinfo lists a mount moved beneath another after it: order by parent instead.
  const stack = mounts.filter((m) => !mounts.some((p) => p.id === m.parent));
  while (stack.length && stack.length < mounts.length) {
    const next = mounts.find((m) => m.parent === stack.at(-1)!.id);
    if (!next) break;
    stack.push(next);
  }
  return stack;
}

const haveTestAddon = fs.existsSync(testAddonPath) ? false : `${testAddonPath} is not built (npm run build:cmake)`;
const canReplace = needsOverlay.skip || haveTestAddon || (!kernelFeatures().moveMountBeneath && 'no MOVE_MOUNT_BENEATH') || (!kernelFeatures().lowerdirPlus && 'no lowerdir+');

function oldAndNew(s: Scratch): { target: string; next: ReplaceOptions; oldId: number } {
  const [a1, a2, b1, b2, target] = s.mkdirs('a1', 'a2', 'b1', 'b2', 'm');
  const old = mountSync({ lower: [a1!, a2!], target: target! });
  return { target: target!, next: { lower: [b1!, b2!] }, oldId: old.mountId };
}

function replaceThroughTestAddon(target: string, options: ReplaceOptions): unknown {
  return testAddon().replaceOverlaySync(...pack(toReplaceRequest(options, target)));
}

t.afterEach(() => {
  if (!haveTestAddon) testAddon().takeArmedFaults();
});

t.test('replace: a mount made on the target before the move: nothing changed', { skip: canReplace }, async (t) => {
  const s = scratch(t);
  const { target, next, oldId } = oldAndNew(s);
  testAddon().injectFault('replace.before-move', 0, target);
  t.throws(() => replaceThroughTestAddon(target, next), { name: 'OverlayError', code: 'EBUSY', field: 'target', message: /nothing was changed/ });
  t.same(testAddon().takeArmedFaults(), [], 'the failure point was reached');
  const stack = stackOn(target);
  t.same(stack.map((m) => m.fstype), ['overlay', 'tmpfs'], 'the old overlay and the mount made on it, no new overlay');
  t.equal(stack[0]!.id, oldId, 'the overlay is the old one');
});

t.test('replace: a mount made on the target after the move: the error says where each mount is', { skip: canReplace }, async (t) => {
  const s = scratch(t);
  const { target, next, oldId } = oldAndNew(s);
  testAddon().injectFault('replace.after-move', 0, target);
  let message = '';
  t.throws(() => {
    try {
      replaceThroughTestAddon(target, next);
    } catch (e) {
      message = (e as Error).message;
      throw e;
    }
  }, { name: 'OverlayError', code: 'EBUSY', field: 'target' });
  const stack = stackOn(target);
  t.same(stack.map((m) => m.fstype), ['overlay', 'overlay', 'tmpfs'], 'the new overlay beneath the old one, the other mount on top');
  const [added, old, other] = stack;
  t.equal(old!.id, oldId, 'the old overlay is where it was, on the new one');
  t.equal(old!.parent, added!.id);
  t.equal(other!.parent, old!.id);
  t.match(message, new RegExp(`another mount \\(id ${other!.id}\\).*new overlay \\(id ${added!.id}\\).*old one \\(id ${oldId}\\), which stays mounted`));
});

t.test('replace: the old overlay cannot be detached: the error says both stay, the old on top', { skip: canReplace }, async (t) => {
  const s = scratch(t);
  const { target, next, oldId } = oldAndNew(s);
  testAddon().injectFault('replace.detach-old', EIO);
  await t.rejects(testAddon().replaceOverlay(...pack(toReplaceRequest(next, target))), {
    name: 'OverlayError',
    code: 'EIO',
    syscall: 'umount2',
    field: 'target',
    message: new RegExp(`old overlay \\(id ${oldId}\\) could not be detached.*both stay mounted, the old on top`),
  });
  const stack = stackOn(target);
  t.same(stack.map((m) => m.fstype), ['overlay', 'overlay']);
  t.equal(stack[1]!.id, oldId, 'the old overlay on top');
});

const legacy = needsOverlay.skip || haveTestAddon;

function legacyRequest(s: Scratch): MountOptions {
  const [a, b, target] = s.mkdirs('a', 'b', 'm');
  return { lower: [a!, b!], target: target!, mechanism: 'mount', propagation: 'private' };
}

t.test('mount(2): its root cannot be opened after the mount: unmounted again', { skip: legacy }, async (t) => {
  const s = scratch(t);
  const options = legacyRequest(s);
  testAddon().injectFault('mount2.open-root', ENOENT);
  t.throws(() => testAddon().mountOverlaySync(...pack(toNativeRequest(options))), { name: 'OverlayError', code: 'ENOENT', syscall: 'open', field: 'target' });
  t.same(testAddon().takeArmedFaults(), [], 'the failure point was reached');
  t.same(stackOn(options.target), [], 'nothing left mounted');
});

t.test('mount(2): its propagation cannot be set: unmounted again', { skip: legacy }, async (t) => {
  const s = scratch(t);
  const options = legacyRequest(s);
  testAddon().injectFault('mount2.propagation', EPERM);
  await t.rejects(testAddon().mountOverlay(...pack(toNativeRequest(options))), { name: 'OverlayError', code: 'EPERM', field: 'propagation' });
  t.same(stackOn(options.target), [], 'nothing left mounted');
});

t.test('an exception inside any operation: an OverlayError with its errno, Sync and Promise', { skip: haveTestAddon }, async (t) => {
  const s = scratch(t);
  const [dir] = s.mkdirs('layer');
  const ENOSPC = 28;
  testAddon().injectFault('whiteout', ENOSPC);
  t.throws(() => testAddon().whiteoutSync({ root: dir!, path: 'gone', userxattr: false, kind: 'chardev', force: false }), {
    name: 'OverlayError',
    code: 'ENOSPC',
    message: /whiteout failed: injected/,
  });
  testAddon().injectFault('isOpaque', ENOSPC);
  await t.rejects(testAddon().isOpaque({ root: dir!, path: '.', userxattr: false }), { name: 'OverlayError', code: 'ENOSPC', message: /isOpaque failed/ });
  t.same(fs.readdirSync(dir!), [], 'the operation did not run');
});
