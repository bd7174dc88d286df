// Seed 004's walkthrough (../shared/seeds/004_*): an ext4 lower-fs.img and
// upper-fs.img, with no mount(8) and no losetup, through the library and
// through `ovl`; what the overlay wrote is then read from upper-fs.img with
// debugfs, without mounting it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { kernelFeatures, listMountsSync, mountSync } from '../../lib/index';
import { recordDir } from '../../lib/images/image-record';
import { ovl } from '../helpers/cli';
import { debugfsCat, debugfsList, loopBacking, loopsBackedBy, makeExt4, needsImages } from '../helpers/images';
import { mountsAt } from '../helpers/mounts';
import { scratch, type Scratch } from '../helpers/scratch';

const CHAR_DEVICE = '20000'; // debugfs's octal mode of a whiteout (0/0 char device, no permissions)

/** The seed's two images: 10240 blocks of 4 KiB each, lower-fs.img holding lower-file.txt. */
function seedImages(s: Scratch): { lower: string; upper: string } {
  s.write({ 'lower-src/lower-file.txt': 'hello world\n' });
  const lower = s.path('lower-fs.img');
  const upper = s.path('upper-fs.img');
  // dd if=/dev/zero bs=4096 count=10240, then mkfs -t ext4 (filled with -d for the lower instead of a mount and echo)
  for (const image of [lower, upper]) fs.writeFileSync(image, Buffer.alloc(0)), fs.truncateSync(image, 4096 * 10240);
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', s.path('lower-src'), lower], { stdio: 'ignore' });
  makeExt4(upper, undefined, 40);
  return { lower, upper };
}

/** What the seed does in the overlay: a new file, and the lower's file deleted. */
/** The records (lib/images/image-record.ts) that name `target`: the ovl processes write where this one reads. */
function recordsNaming(target: string): string[] {
  const dir = recordDir();
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.json')) : [];
  return names.filter((n) => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as { target?: string }).target === target;
    } catch {
      return false; // removed meanwhile by another test's listing
    }
  });
}

function useOverlay(t: Test, merged: string): void {
  t.equal(fs.readFileSync(`${merged}/lower-file.txt`, 'utf8'), 'hello world\n', "the lower image's file shows");
  t.ok(fs.existsSync(`${merged}/lost+found`), "the ext4 root's lost+found shows, as in the seed's tree");
  fs.writeFileSync(`${merged}/234`, 'new\n');
  fs.unlinkSync(`${merged}/lower-file.txt`);
  t.notOk(fs.existsSync(`${merged}/lower-file.txt`), 'deleted through the overlay');
}

/** Read from the image itself: the new file and a whiteout in upper/, the lower image untouched. */
function checkImages(t: Test, images: { lower: string; upper: string }, upperDir: string, workDir: string): void {
  const root = debugfsList(images.upper, '/');
  t.ok(root.has(upperDir) && root.has(workDir), `upper-fs.img holds ${upperDir}/ and ${workDir}/`);
  const upper = debugfsList(images.upper, `/${upperDir}`);
  t.equal(debugfsCat(images.upper, `/${upperDir}/234`), 'new\n', 'the new file is in upper-fs.img');
  t.equal(upper.get('lower-file.txt'), CHAR_DEVICE, 'the deletion is a whiteout in upper-fs.img');
  t.equal(debugfsCat(images.lower, '/lower-file.txt'), 'hello world\n', 'lower-fs.img is untouched');
}

t.test('seed 004 through the library: lower-fs.img and upper-fs.img, nothing else mounted, nothing left', needsImages, async (t) => {
  const s = scratch(t);
  const images = seedImages(s);
  const [merged] = s.mkdirs('overlay');
  const m = mountSync({
    lower: [{ image: images.lower }],
    upper: { image: images.upper, path: 'upper' },
    work: { image: images.upper, path: 'workdir' },
    target: merged!,
  });
  t.same(
    m.images.map((i) => [i.image, i.readOnly, loopBacking(i.loopDevice!)]),
    [
      [images.lower, true, images.lower],
      [images.upper, false, images.upper],
    ],
  );
  const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  t.same(lines.filter((l) => m.images.some((i) => l.includes(` ${i.loopDevice} `))), [], 'no image mount in the mount table');
  t.equal(mountsAt(merged!).length, 1, 'only the overlay');
  const [listed] = listMountsSync({ target: merged! });
  t.match(listed, { lower: [images.lower], upper: images.upper, work: images.upper });
  useOverlay(t, merged!);
  m.unmountSync();
  for (const image of [images.lower, images.upper]) t.same(loopsBackedBy(image), [], `nothing bound to ${image}`);
  checkImages(t, images, 'upper', 'workdir');
});

t.test('seed 004 through ovl: --lower-image and --upper-image, ovl ls names the images, ovl umount frees them', needsImages, async (t) => {
  const s = scratch(t);
  const images = seedImages(s);
  s.mkdirs('overlay');
  const r = ovl(['mount', '--lower-image', 'lower-fs.img', '--upper-image', 'upper-fs.img', 'overlay'], { cwd: s.dir });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '', 'silent on success');
  const ls = ovl(['ls', '--json', 'overlay'], { cwd: s.dir });
  t.equal(ls.status, 0, ls.stderr);
  const [info] = JSON.parse(ls.stdout) as Array<{ lower: string[]; upper: string; work: string; notes: Array<{ kind: string }>; images: Array<{ loopDevice: string }> }>;
  t.same(info?.lower, [images.lower]);
  t.equal(info?.upper, images.upper);
  t.equal(info?.work, images.upper);
  t.ok(info?.notes.every((n) => n.kind === 'image') && info?.notes.length === 3, 'each image layer noted');
  const loops = info!.images.map((i) => i.loopDevice);
  const table = ovl(['ls', 'overlay'], { cwd: s.dir });
  t.match(table.stdout, /upper-fs\.img/, 'the table names the upper image');
  t.match(table.stderr, /inside image files/);
  useOverlay(t, s.path('overlay'));
  t.equal(recordsNaming(s.path('overlay')).length, 1, 'a record names the stack');
  const u = ovl(['umount', 'overlay'], { cwd: s.dir });
  t.equal(u.status, 0, u.stderr);
  t.same(recordsNaming(s.path('overlay')), [], 'ovl umount removed it with the stack');
  for (const device of loops) t.equal(loopBacking(device), '', `${device} is unbound`);
  checkImages(t, images, 'upper', 'work');
});

t.test('ovl: --lower-image and --lower stack in the order given; usage errors', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'a/f': 'a', 'b-src/f': 'b', 'b-src/only-b': '', 'c/f': 'c', 'c/only-c': '' });
  makeExt4(s.path('b.img'), s.path('b-src'));
  s.mkdirs('m');
  const r = ovl(['mount', '--lower', 'a', '--lower-image', 'b.img', '--lower', 'c', 'm'], { cwd: s.dir });
  t.equal(r.status, 0, r.stderr);
  t.equal(s.read('m/f'), 'a');
  const [info] = JSON.parse(ovl(['ls', '--json', 'm'], { cwd: s.dir }).stdout) as Array<{ lower: string[] }>;
  t.same(info?.lower, [s.path('a'), s.path('b.img'), s.path('c')]);
  // ovl replace takes the same flags: now the image is on top (where the kernel can replace at all).
  const k = kernelFeatures();
  if (k.moveMountBeneath && k.lowerdirPlus) {
    const rep = ovl(['replace', '--lower-image', 'b.img', '--lower', 'c', 'm'], { cwd: s.dir });
    t.equal(rep.status, 0, rep.stderr);
    t.equal(s.read('m/f'), 'b');
  }
  t.equal(ovl(['umount', 'm'], { cwd: s.dir }).status, 0);
  t.same(loopsBackedBy(s.path('b.img')), []);

  const both = ovl(['mount', '--upper-image', 'b.img', '--upper', 'x', '--work', 'y', '--lower', 'a', 'm'], { cwd: s.dir });
  t.equal(both.status, 1);
  t.match(both.stderr, /--upper-image gives upper and work/);
  const missing = ovl(['mount', '--lower-image', 'missing.img', '--lower', 'a', 'm'], { cwd: s.dir });
  t.equal(missing.status, 1, 'a missing image is refused before any mount system call');
  t.match(missing.stderr, /ENOENT/);
});
