// The record listMounts names image layers from: it never outlives its
// overlay, is never taken for another mount's, and says when it is missing.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { listMounts, listMountsSync, mountSync, umount, umountSync } from '../../lib/index';
import { PRUNE_SAMPLE } from '../../lib/images/image-record-live';
import { makeExt4, makeSquashfs, needsImages } from '../helpers/images';
import { scratch, type Scratch } from '../helpers/scratch';

function recordsIn(s: Scratch): string {
  const dir = s.path('records');
  process.env.OVERLAY_NATIVE_RECORD_DIR = dir;
  t.teardown(() => delete process.env.OVERLAY_NATIVE_RECORD_DIR);
  return dir;
}

/** Unmounted as umount(8) or another tool would: nothing here hears of it. */
const umountElsewhere = (target: string): void => void execFileSync('umount', [target]);

const recordFiles = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.json')) : []);

t.test('a record outlives no overlay and names no other mount, even one with the same mount id on the same target', needsImages, async (t) => {
  const s = scratch(t);
  const dir = recordsIn(s);
  s.write({ 'src/f': 'image', 'a/f': 'a', 'b/f': 'b' });
  const image = makeSquashfs(s.path('src'), s.path('sq.img'));
  const [target] = s.mkdirs('merged');
  const first = mountSync({ lower: [{ image }, s.path('a')], target: target! });
  t.equal(recordFiles(dir).length, 1, 'one record written');
  // Unmounted behind the object's back: the record stays until a listing meets it.
  umountElsewhere(target!);
  const second = mountSync({ lower: [s.path('a'), s.path('b')], target: target! });
  const [listed] = listMountsSync({ target: target! });
  t.same(listed?.lower, [s.path('a'), s.path('b')], 'the new mount is listed by its own layers');
  t.notOk(listed?.images, 'no images claimed for it');
  t.same(listed?.notes, []);
  t.same(recordFiles(dir), [], `the stale record is removed (the old mount id was ${first.mountId}, the new ${second.mountId})`);
  second.unmountSync();
});

t.test('unmounting through the OverlayMount removes its record; the Promise listing reads records too', needsImages, async (t) => {
  const s = scratch(t);
  const dir = recordsIn(s);
  s.write({ 'src/f': 'x', 'a/f': 'a' });
  const image = makeExt4(s.path('ex.img'), s.path('src'));
  const [target] = s.mkdirs('merged');
  const m = mountSync({ lower: [{ image }, s.path('a')], target: target! });
  const [listed] = await listMounts({ target: target! });
  t.same(listed?.lower, [image, s.path('a')]);
  t.match(listed?.notes[0], { field: 'lower[0]', kind: 'image', note: /root of the ext4 image .*through \/dev\/loop\d+/ });
  m.unmountSync();
  t.same(recordFiles(dir), []);
});

t.test('without a unique mount id: a record is checked by superblock and loop devices, and dropped once they are gone', needsImages, async (t) => {
  const s = scratch(t);
  const dir = recordsIn(s);
  s.write({ 'src/f': 'x', 'a/f': 'a' });
  const image = makeSquashfs(s.path('src'), s.path('sq.img'));
  const [target] = s.mkdirs('merged');
  mountSync({ lower: [{ image }, s.path('a')], target: target! });
  // What a kernel before 6.8 leaves: the same record, with no unique id, named by mount id and superblock.
  const [file] = recordFiles(dir);
  const record = JSON.parse(fs.readFileSync(path.join(dir, file!), 'utf8')) as { uniqueMountId: number; mountId: number; superblock: string; loops: string[][]; images: Array<{ loopDevice: string | null }> };
  fs.rmSync(path.join(dir, file!));
  if (record.uniqueMountId) {
    // A record with a unique id is checked by it alone and lists no loop devices; one without lists each with its backing file.
    t.same(record.loops, [], 'a record with a unique id reads no sysfs');
    record.loops = record.images.map(({ loopDevice }) => [loopDevice!, fs.readFileSync(`/sys/block/${path.basename(loopDevice!)}/loop/backing_file`, 'utf8').trim()]);
  }
  record.uniqueMountId = 0;
  const fallback = path.join(dir, `m${record.mountId}-${record.superblock.replace(':', '_')}.json`);
  fs.writeFileSync(fallback, JSON.stringify(record));
  const [listed] = listMountsSync({ target: target! });
  t.same(listed?.lower, [image, s.path('a')]);
  t.match(listed?.notes[0]?.note, /matched by mount id, superblock and loop devices/);
  // Gone behind its back, with a plain mount in its place: the record is not believed, and removed.
  umountSync(target!);
  const other = mountSync({ lower: [s.path('a'), s.path('src')], target: target! });
  const [again] = listMountsSync({ target: target! });
  t.same(again?.lower, [s.path('a'), s.path('src')]);
  t.notOk(fs.existsSync(fallback), 'removed');
  other.unmountSync();
});

t.test('a listing says when no record names a detached layer', needsImages, async (t) => {
  const s = scratch(t);
  const dir = recordsIn(s);
  s.write({ 'src/f': 'x', 'a/f': 'a' });
  const image = makeSquashfs(s.path('src'), s.path('sq.img'));
  const [target] = s.mkdirs('merged');
  const m = mountSync({ lower: [{ image }, s.path('a')], target: target! });
  for (const f of recordFiles(dir)) fs.rmSync(path.join(dir, f));
  const [listed] = listMountsSync({ target: target! });
  // mountinfo shows the image layer as '/' (6.15+ by fd) or an fd name (the detour): never as the image.
  t.not(listed?.lower[0], image);
  t.match(listed?.notes[0], { field: 'lower[0]', kind: /^(detached|fd-name)$/ });
  m.unmountSync();
});

/** A squashfs image, two targets, and the image mounted on the first: its record written. */
function mountedOnOne(t: Test): { s: Scratch; dir: string; image: string; one: string; two: string } {
  const s = scratch(t);
  const dir = recordsIn(s);
  s.write({ 'src/f': 'x', 'a/f': 'a' });
  const image = makeSquashfs(s.path('src'), s.path('sq.img'));
  const [one, two] = s.mkdirs('one', 'two');
  mountSync({ lower: [{ image }, s.path('a')], target: one! });
  return { s, dir, image, one: one!, two: two! };
}

t.test('the next image mount drops records of overlays unmounted elsewhere', needsImages, async (t) => {
  const { s, dir, image, one, two } = mountedOnOne(t);
  umountElsewhere(one); // the record stays for now
  t.equal(recordFiles(dir).length, 1);
  const m = mountSync({ lower: [{ image }, s.path('a')], target: two });
  t.equal(recordFiles(dir).length, 1, "only the new mount's record is left");
  m.unmountSync();
  t.same(recordFiles(dir), []);
});

t.test('an image mount checks a few other records, not all; a listing checks every one', needsImages, async (t) => {
  const { s, dir, image, one, two } = mountedOnOne(t);
  const [own] = recordFiles(dir);
  // Ten records of overlays that are gone, as umount(8) leaves them. Their ids are ones no mount has: the
  // kernel reuses mount ids (and, before 6.8, the next mount here could be this one again, record and all).
  const record = JSON.parse(fs.readFileSync(path.join(dir, own!), 'utf8')) as { uniqueMountId: number };
  const stale = JSON.stringify({ ...record, mountId: 2 ** 31 - 1, uniqueMountId: record.uniqueMountId ? 2 ** 53 - 1 : 0 });
  umountElsewhere(one);
  fs.rmSync(path.join(dir, own!));
  for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(dir, `stale${i}.json`), stale);
  const m = mountSync({ lower: [{ image }, s.path('a')], target: two });
  const left = recordFiles(dir).filter((n) => n.startsWith('stale'));
  t.equal(left.length, 10 - PRUNE_SAMPLE, `the mount checked ${PRUNE_SAMPLE} others and removed those, stale, only`);
  const mine = recordFiles(dir).filter((n) => !n.startsWith('stale'));
  t.equal(mine.length, 1, 'its own record is written');
  // And one of another namespace, which nothing here can check.
  fs.writeFileSync(path.join(dir, 'elsewhere.json'), JSON.stringify({ ...JSON.parse(stale), mountNs: 'mnt:[1]' }));
  listMountsSync();
  t.same(recordFiles(dir).sort(), [...mine, 'elsewhere.json'].sort(), 'a listing removes every stale one of this namespace');
  m.unmountSync();
  t.same(recordFiles(dir), ['elsewhere.json'], 'a record of another namespace is never judged from here');
});

t.test('umount and umountSync by path remove the record of the image stack they unmount, and only that one', needsImages, async (t) => {
  const { s, dir, image, one, two } = mountedOnOne(t);
  t.equal(recordFiles(dir).length, 1);
  umountSync(one);
  t.same(recordFiles(dir), [], 'umountSync: gone with its overlay');
  mountSync({ lower: [{ image }, s.path('a')], target: two });
  await umount(two);
  t.same(recordFiles(dir), [], 'umount: the same');
  // A plain overlay stacked on an image stack: unmounting the top one leaves the record beneath.
  const below = mountSync({ lower: [{ image }, s.path('a')], target: one });
  const [record] = recordFiles(dir);
  mountSync({ lower: [s.path('a'), s.path('src')], target: one });
  umountSync(one);
  t.same(recordFiles(dir), [record], 'the stack beneath keeps its record');
  t.same(listMountsSync({ target: one })[0]?.lower, [image, s.path('a')], 'and is still named by it');
  below.unmountSync();
  t.same(recordFiles(dir), []);
});

t.test('a stale record is removed by a listing that finds no overlay at all (on its target, or anywhere)', needsImages, async (t) => {
  const s = scratch(t);
  const dir = recordsIn(s);
  s.write({ 'src/f': 'x', 'a/f': 'a' });
  const image = makeSquashfs(s.path('src'), s.path('sq.img'));
  const [target] = s.mkdirs('merged');
  mountSync({ lower: [{ image }, s.path('a')], target: target! });
  t.equal(recordFiles(dir).length, 1);
  umountElsewhere(target!);
  t.same(listMountsSync({ target: target! }), [], 'nothing on the target');
  t.same(recordFiles(dir), [], 'and the stale record is gone, with no other overlay mounted there');
  mountSync({ lower: [{ image }, s.path('a')], target: target! });
  umountElsewhere(target!);
  t.same(await listMounts({ target: target! }), []);
  t.same(recordFiles(dir), [], 'the Promise form too');
});
