// The user-namespace child behind idmapped mounts shares the process's memory
// (CLONE_VM) on a stack of its own: each mount must reap it, from the main
// thread (Sync) and from the thread pool (Promise). (Its stack's munmap is
// not asserted: Node's own arenas move the virtual size by 64 MiB steps.)
import * as fs from 'node:fs';
import t from 'tap';
import { kernelFeatures, mount, mountSync, type IdmapOptions } from '../lib/index';
import { childPids, openFdCount } from './helpers/live';
import { needsOverlay, scratch } from './helpers/scratch';

const SHIFT: IdmapOptions = { uidMap: [[0, 100000, 65536]], gidMap: [[0, 100000, 65536]] };
const ROUNDS = 200;

function inChroot(): boolean {
  const root = fs.statSync('/');
  const init = (() => {
    try {
      return fs.statSync('/proc/1/root/');
    } catch {
      return root;
    }
  })();
  return root.ino !== init.ino || root.dev !== init.dev;
}

const needsIdmap = {
  skip: needsOverlay.skip || (!kernelFeatures().lowerdirPlus && 'no lowerdir+ on this kernel') || (inChroot() && 'user namespaces cannot be made inside a chroot'),
};

t.test(`${ROUNDS} idmapped mounts leave no child and no fd behind`, needsIdmap, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, target] = s.mkdirs('lower', 'upper', 'work', 'm');
  s.write({ 'lower/file': 'x' });
  fs.chownSync(s.path('lower/file'), 0, 0);
  const options = { lower: [lower], upper, work, target, idmap: SHIFT };
  // First use, both ways: libuv starts its pool threads now, not in the count.
  mountSync(options).unmountSync();
  await (await mount(options)).unmount();
  const children = childPids();
  const fds = openFdCount();
  for (let i = 0; i < ROUNDS / 2; i++) mountSync(options).unmountSync();
  for (let i = 0; i < ROUNDS / 2; i++) await (await mount(options)).unmount();
  t.same(childPids(), children, 'every child reaped');
  t.equal(openFdCount(), fds, 'no fd left open');
  const m = mountSync(options);
  t.equal(fs.statSync(`${target}/file`).uid, 100000, 'still idmapped after all of them');
  m.unmountSync();
  t.same(fs.readdirSync(target), [], 'nothing left mounted');
});
