// A user namespace the kernel cannot idmap with: the initial one, or one with
// no maps written. The kernel says EPERM or EINVAL, which read as "needs
// root" and "the filesystem cannot be idmapped"; the error names idmap.userns
// and says what is wrong with it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { mount, mountSync } from '../../lib/index';
import { needsUserNamespaces } from '../helpers/idmap';
import { waitFor } from '../helpers/mounts';
import { mountsBeneath, scratch } from '../helpers/scratch';

t.test('the initial user namespace', needsUserNamespaces, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'merged');
  const wanted = { name: 'OverlayError', code: 'EINVAL', field: 'idmap.userns', message: /initial user namespace/ };
  t.throws(() => mountSync({ lower: [a, b], target, idmap: { userns: '/proc/self/ns/user' } }), wanted);
  await t.rejects(mount({ lower: [a, b], target, idmap: { userns: '/proc/self/ns/user' } }), wanted);
  t.same(mountsBeneath(s.dir), [], 'nothing mounted');
});

t.test('a user namespace with no maps written', needsUserNamespaces, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'merged');
  // A process in a new user namespace whose maps nobody writes.
  const holder = spawn('unshare', ['--user', 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => holder.kill());
  const nsPath = `/proc/${holder.pid}/ns/user`;
  await waitFor('unshare to make its user namespace', () => fs.readlinkSync(nsPath) !== fs.readlinkSync('/proc/self/ns/user'));
  const wanted = { name: 'OverlayError', code: 'EINVAL', field: 'idmap.userns', message: /has no uid_map nor gid_map written/ };
  t.throws(() => mountSync({ lower: [a, b], target, idmap: { userns: nsPath } }), wanted);
  await t.rejects(mount({ lower: [a, b], target, idmap: { userns: nsPath } }), wanted);
  t.same(mountsBeneath(s.dir), [], 'nothing mounted');
});
