// check() takes image layers as mount does: the images are mounted detached
// for the look and gone when it returns; nothing is made in them.
import * as fs from 'node:fs';
import t from 'tap';
import { check, checkSync, mountSync } from '../../lib/index';
import { debugfsList, loopsBackedBy, makeExt4, makeSquashfs, needsImages } from '../helpers/images';
import { scratch } from '../helpers/scratch';

t.test('check: upper and work in an ext4 image, a squashfs lower; nothing left, nothing made', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/upper/keep': '', 'src/work/.keep': '', 'lower/f': '' });
  const rw = makeExt4(s.path('rw.img'), s.path('src'));
  const ro = makeSquashfs(s.path('lower'), s.path('lower.sq'));
  const r = checkSync({ upper: { image: rw, path: 'upper' }, work: { image: rw, path: 'work' }, lower: [{ image: ro }] });
  t.ok(r.ok, JSON.stringify(r.findings.filter((f) => f.status !== 'ok' && f.status !== 'info')));
  t.match(r.upper, { path: rw, fstype: 'ext4', image: { image: rw, path: '/upper' }, readOnly: false });
  t.match(r.lower[0], { path: ro, fstype: 'squashfs', readOnly: true });
  t.equal(r.probes.trustedXattr.state, 'supported', 'the probes ran inside the image');
  t.same(loopsBackedBy(rw), []);
  t.same(loopsBackedBy(ro), []);
  t.same([...debugfsList(rw, '/work').keys()].filter((n) => n !== '.' && n !== '..'), ['.keep'], 'the probes left nothing in work');
});

t.test('check: a missing directory inside the image is a finding, not made; a read-only image type as upper is refused', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/f': '' });
  const rw = makeExt4(s.path('rw.img'));
  const ro = makeSquashfs(s.path('src'), s.path('ro.sq'));
  const r = await check({ upper: { image: rw, path: 'upper' }, work: { image: rw, path: 'work' } });
  t.equal(r.ok, false);
  t.match(r.upper, { error: 'ENOENT', image: { path: '/upper' } });
  t.notOk(debugfsList(rw, '/').has('upper'), 'check made nothing');
  await t.rejects(
    check({ upper: { image: ro }, work: { image: rw } }),
    { code: 'EINVAL', field: 'upper', path: ro, message: /the upper image must be a writable ext4 image/ },
    'a squashfs upper is refused before anything is mounted, as by mount',
  );
  t.same(loopsBackedBy(rw), []);
  t.same(loopsBackedBy(ro), []);
  await t.rejects(check({ upper: { image: s.path('missing.img') }, work: s.dir }), { code: 'ENOENT', field: 'upper' }, 'an image that cannot be mounted is refused, as by mount');
});

t.test('check on the upper image of a live stack: its device and superblock shared, a live upper or work refused before any probe', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'lower/f': '' });
  const rw = makeExt4(s.path('rw.img'));
  const [target] = s.mkdirs('merged');
  const live = mountSync({ lower: [s.path('lower')], upper: { image: rw, path: 'upper' }, work: { image: rw, path: 'work' }, target: target! });
  fs.writeFileSync(`${target}/written`, '');
  const err = t.throws(() => checkSync({ upper: { image: rw, path: 'upper' }, work: { image: rw, path: 'work' } }), { code: 'EBUSY', field: 'upper' }) as Error;
  t.match(err.message, `the upper of the overlay mounted on ${target} (mount id ${live.mountId})`);
  await t.rejects(check({ upper: { image: rw, path: 'upper2' }, work: { image: rw, path: 'work' } }), { code: 'EBUSY', field: 'work' }, 'its work, in the Promise form');
  // Another upper and work in the same image: looked at through the live stack's device, never a second superblock.
  const devices = loopsBackedBy(rw);
  const other = checkSync({ upper: { image: rw, path: 'u2' }, work: { image: rw, path: 'w2' } });
  t.match(other.upper, { error: 'ENOENT' }, 'a finding, nothing made');
  t.same(loopsBackedBy(rw), devices, 'the same one device');
  live.unmountSync();
  t.same(loopsBackedBy(rw), []);
  t.ok(debugfsList(rw, '/upper').has('written'), 'the live stack\'s file is in the image');
});
