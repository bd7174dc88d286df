// A container-style session on a Debian root filesystem made into an erofs
// image: the image is the read-only lower, the container's writable layer
// lives in an ext4 image, and a shell runs in its own mount and pid
// namespaces with the overlay as its root. Writes and a deletion land in the
// ext4 image; the erofs root is untouched; nothing is left afterwards.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { mountSync } from '../../lib/index';
import { makeDebianRoot, whyNoDebianRoot } from './debian-root';
import { debugfsCat, debugfsList, erofsSuperblocks, loopBacking, loopsBackedBy, makeErofs, makeExt4, needsImages } from '../helpers/images';
import { settled } from '../helpers/mounts';
import { scratch } from '../helpers/scratch';

const skip = needsImages.skip || whyNoDebianRoot() || false;

t.test('a Debian root as an erofs image, the lower of a container session', { skip }, async (t) => {
  const s = scratch(t);
  const root = makeErofs(makeDebianRoot(s.path('debian-root')), s.path('debian.erofs'));
  const rw = makeExt4(s.path('container.img'), undefined, 32);
  const [merged] = s.mkdirs('rootfs');
  const erofsBefore = erofsSuperblocks();
  const m = mountSync({
    lower: [{ image: root }],
    upper: { image: rw, path: 'upper' },
    work: { image: rw, path: 'work' },
    target: merged!,
  });
  t.same(
    m.images.map((i) => [i.type, i.readOnly]),
    [
      ['erofs', true],
      ['ext4', false],
    ],
  );
  const expected = fs.readFileSync('/etc/debian_version', 'utf8');
  const script = [
    'cat /etc/debian_version',
    'echo "pid $$"',
    'echo hello > /root/greeting',
    'rm /etc/issue.net',
    'test -e /etc/issue.net && echo issue.net-still-there',
    'ls /usr/bin/ls /usr/bin/bash',
  ].join('; ');
  // unshare(1): own mount and pid namespaces, the overlay as root: what a container runtime does first.
  const session = spawnSync('unshare', ['--mount', '--pid', '--fork', `--root=${merged}`, '/bin/bash', '-c', script], { encoding: 'utf8' });
  t.equal(session.status, 0, session.stderr);
  t.equal(session.stdout, `${expected}pid 1\n/usr/bin/bash\n/usr/bin/ls\n`, 'the Debian root runs, as pid 1 of its namespace');
  t.equal(fs.readFileSync(`${merged}/root/greeting`, 'utf8'), 'hello\n');
  m.unmountSync();
  // The session's namespace goes with its last process; its copy of the overlay may take a moment more.
  t.ok(await settled(() => m.images.every((i) => !i.loopDevice || loopBacking(i.loopDevice) === '')), 'every loop device unbound');
  t.same(loopsBackedBy(rw), []);
  t.same(loopsBackedBy(root), []);
  t.ok(await settled(() => [...erofsSuperblocks()].every((id) => erofsBefore.has(id))), 'no erofs superblock left');

  t.equal(debugfsCat(rw, '/upper/root/greeting'), 'hello\n', 'the write is in container.img');
  t.equal(debugfsList(rw, '/upper/etc').get('issue.net'), '20000', 'the deletion is a whiteout in container.img');
  // The erofs root is read-only: mounted alone again, it still has issue.net.
  const [empty] = s.mkdirs('empty');
  const again = mountSync({ lower: [{ image: root }, empty!], target: merged! });
  t.ok(fs.existsSync(`${merged}/etc/issue.net`), 'the Debian root image is untouched');
  again.unmountSync();
  t.same(loopsBackedBy(root), []);
});
