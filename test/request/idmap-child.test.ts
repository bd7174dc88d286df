// The user-namespace child behind idmapped mounts shares the process's memory
// (CLONE_VM) on a stack of its own: each mount must reap it, from the main
// thread (Sync) and from the thread pool (Promise). (Its stack's munmap is
// not asserted: Node's own arenas move the virtual size by 64 MiB steps.)
import * as fs from 'node:fs';
import t from 'tap';
import { mount, mountSync, type IdmapOptions } from '../../lib/index';
import { childPids, openFdCount } from '../helpers/live';
import { needsUserNamespaces } from '../helpers/idmap';
import { scratch } from '../helpers/scratch';

const SHIFT: IdmapOptions = { uidMap: [[0, 100000, 65536]], gidMap: [[0, 100000, 65536]] };
const ROUNDS = 200;


t.test(`${ROUNDS} idmapped mounts leave no child and no fd behind`, needsUserNamespaces, async (t) => {
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
