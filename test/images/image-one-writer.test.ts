// An image file is written by at most one superblock, whoever attached it:
// a request for an image already bound read-write (by this package, by
// mount(8) -o loop, by losetup) goes through that device, so the kernel
// hands back the same superblock; a binding that cannot be shared safely is
// refused (EBUSY) naming the layer and the device. Each case ends by reading
// the image without mounting it (debugfs): every file written through any
// stack must be there.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { applySync, kernelFeatures, listMountsSync, mount, mountSync, replaceSync, type OverlayMount } from '../../lib/index';
import { debugfsList, loopsBackedBy, makeErofs, makeExt4, makeSquashfs, needsImages } from '../helpers/images';
import { losetupBind, mountLoop } from '../helpers/filesystems';
import { scratch, type Scratch } from '../helpers/scratch';

const kernel = kernelFeatures();
const noReplace = !(kernel.moveMountBeneath && kernel.lowerdirPlus) && 'replace needs MOVE_MOUNT_BENEATH and lowerdir+ (6.8+)';

function writeFiles(dir: string, prefix: string, count: number): void {
  for (let i = 0; i < count; i++) fs.writeFileSync(`${dir}/${prefix}${i}`, `${prefix}${i}`);
}

/** The names under `dir` in the image, read with debugfs (the image not mounted), with `prefix`. */
function inImage(image: string, dir: string, prefix: string): number {
  return [...debugfsList(image, dir).keys()].filter((n) => n.startsWith(prefix)).length;
}

function layers(s: Scratch): { l1: string; l2: string; image: string } {
  s.write({ 'l1/from-l1': '1', 'l2/from-l2': '2' });
  return { l1: s.path('l1'), l2: s.path('l2'), image: makeExt4(s.path('u.ext4')) };
}

// Made if missing (one level): upper and work of their own in the same image.
const inImageLayer = (image: string, dir: string) => ({ upper: { image, path: `${dir}-upper` }, work: { image, path: `${dir}-work` } });

t.test('two stacks on one upper image share its device and superblock; every file of both is in the image', needsImages, async (t) => {
  const s = scratch(t);
  const { l1, l2, image } = layers(s);
  const [d1, d2] = s.mkdirs('d1', 'd2');
  const one = mountSync({ lower: [l1], ...inImageLayer(image, 'a'), target: d1! });
  const two = mountSync({ lower: [l2], ...inImageLayer(image, 'b'), target: d2! });
  t.equal(two.images[0]!.loopDevice, one.images[0]!.loopDevice, 'the second stack reuses the first one\'s loop device');
  t.same(loopsBackedBy(image), [one.images[0]!.loopDevice], 'one device bound to the image');
  writeFiles(d1!, 'one-', 100);
  writeFiles(d2!, 'two-', 50);
  one.unmountSync();
  t.same(loopsBackedBy(image), [two.images[0]!.loopDevice], 'still bound for the second stack');
  two.unmountSync();
  t.same(loopsBackedBy(image), [], 'freed once both are gone');
  t.equal(inImage(image, '/a-upper', 'one-'), 100, 'all 100 files of the first stack are in the image');
  t.equal(inImage(image, '/b-upper', 'two-'), 50, 'all 50 of the second');
});

t.test('a second stack on the upper another stack of the image uses is refused, naming the field, the target and the mount id', needsImages, async (t) => {
  const s = scratch(t);
  const { l1, l2, image } = layers(s);
  const [d1, d2] = s.mkdirs('d1', 'd2');
  const one = mountSync({ lower: [l1], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: d1! });
  writeFiles(d1!, 'one-', 100);
  const err = t.throws(() => mountSync({ lower: [l2], upper: { image, path: 'upper' }, work: { image, path: 'work2' }, target: d2! }), {
    code: 'EBUSY',
    field: 'upper',
    path: image,
  }) as Error;
  t.match(err.message, new RegExp(`upper of the overlay mounted on ${d1} \\(mount id ${one.mountId}\\)`));
  t.throws(() => mountSync({ lower: [l2], upper: { image, path: 'upper2' }, work: { image, path: 'work' }, target: d2! }), { code: 'EBUSY', field: 'work' }, 'its work too');
  await t.rejects(mount({ lower: [l2], upper: { image, path: 'upper' }, work: { image, path: 'work2' }, target: d2! }), { code: 'EBUSY', field: 'upper' }, 'the Promise form too');
  t.same(loopsBackedBy(image), [one.images[0]!.loopDevice], 'no device added or lost');
  t.same(listMountsSync({ target: d2! }), [], 'nothing mounted');
  one.unmountSync();
  t.equal(inImage(image, '/upper', 'one-'), 100);
});

t.test("the issue's replace: every file written through the old stack is in the new one and in the image", { skip: needsImages.skip || noReplace }, async (t) => {
  const s = scratch(t);
  const { l1, l2, image } = layers(s);
  const [target] = s.mkdirs('merged');
  const one = mountSync({ lower: [l1], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: target! });
  writeFiles(target!, 'one-', 100);
  t.throws(() => replaceSync(target!, { lower: [l2], upper: { image, path: 'upper' }, work: { image, path: 'work' } }), { code: 'EBUSY', field: 'work' }, 'the old stack\'s work is refused');
  const two = replaceSync(target!, { lower: [l2], upper: { image, path: 'upper' }, work: { image, path: 'work2' } });
  t.equal(two.images[0]!.loopDevice, one.images[0]!.loopDevice, 'the same device, so the same superblock');
  t.ok(fs.existsSync(`${target}/from-l2`), 'the new lower');
  t.equal(fs.readdirSync(target!).filter((n) => n.startsWith('one-')).length, 100, 'the new stack sees every file of the old');
  writeFiles(target!, 'two-', 50);
  two.unmountSync();
  t.same(loopsBackedBy(image), [], 'freed');
  t.equal(inImage(image, '/upper', 'one-'), 100, 'the old stack\'s 100 files are in the image');
  t.equal(inImage(image, '/upper', 'two-'), 50, 'and the new one\'s 50');
});

t.test('an image mount(8) has mounted read-write: its device is reused, and the layer shares that mount\'s superblock', needsImages, async (t) => {
  const s = scratch(t);
  const { l1, image } = layers(s);
  const [target] = s.mkdirs('merged');
  const device = mountLoop(image, s.path('by-mount8'));
  fs.mkdirSync(s.path('by-mount8/data'));
  fs.writeFileSync(s.path('by-mount8/data/unsynced'), 'only in the superblock so far');
  const m = mountSync({ lower: [l1], ...inImageLayer(image, 'x'), target: target! });
  t.equal(m.images[0]!.loopDevice, device, `the device mount(8) bound, ${device}`);
  writeFiles(target!, 'ovl-', 100);
  t.equal(fs.readdirSync(s.path('by-mount8/x-upper')).filter((n) => n.startsWith('ovl-')).length, 100, 'what the overlay writes shows through mount(8)\'s mount at once');
  // A read-only layer of the same image reads through the same superblock, not a stale copy of the file.
  const [reader] = s.mkdirs('reader');
  const ro = mountSync({ lower: [{ image, path: 'data' }, l1], target: reader! });
  t.equal(ro.images[0]!.loopDevice, device, 'the read-only layer goes through that device too');
  t.equal(fs.readFileSync(`${reader}/unsynced`, 'utf8'), 'only in the superblock so far', 'and sees what is not yet written back');
  ro.unmountSync();
  m.unmountSync();
  t.same(loopsBackedBy(image), [device], "mount(8)'s device stays bound for its mount");
  execFileSync('umount', [s.path('by-mount8')]);
  t.equal(inImage(image, '/x-upper', 'ovl-'), 100, 'all 100 files in the image');
});

t.test('a device losetup bound is reused and left bound; one bound read-only refuses a writable layer, naming it', needsImages, async (t) => {
  const s = scratch(t);
  const { l1, image } = layers(s);
  const [target] = s.mkdirs('merged');
  const device = losetupBind(t, image);
  const m = mountSync({ lower: [l1], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: target! });
  t.equal(m.images[0]!.loopDevice, device);
  writeFiles(target!, 'f-', 100);
  m.unmountSync();
  t.same(loopsBackedBy(image), [device], 'losetup\'s device is its own: still bound');
  execFileSync('losetup', ['-d', device]);
  t.equal(inImage(image, '/upper', 'f-'), 100);

  const readOnly = losetupBind(t, image, true);
  const err = t.throws(() => mountSync({ lower: [l1], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: target! }), {
    code: 'EBUSY',
    field: 'upper',
    path: image,
  }) as Error;
  t.match(err.message, new RegExp(`bound read-only to ${readOnly}`));
  // Named first by a lower layer, the image is still refused as the upper it also backs.
  t.throws(() => mountSync({ lower: [{ image, path: 'a' }, l1], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: target! }), {
    code: 'EBUSY',
    field: 'upper',
  });
  t.same(loopsBackedBy(image), [readOnly], 'no device added');
  // A read-only layer may share the file with a read-only device.
  const lower = mountSync({ lower: [{ image, path: 'upper' }, l1], target: target! });
  t.ok(fs.existsSync(`${target}/f-0`));
  lower.unmountSync();
});

t.test('an image mounted read-only by mount(8) cannot back a writable layer: EBUSY naming the device', needsImages, async (t) => {
  const s = scratch(t);
  const { l1, image } = layers(s);
  const [target] = s.mkdirs('merged');
  // mount(8) binds a read-only device for a read-only mount.
  const device = mountLoop(image, s.path('ro'), true);
  t.throws(() => mountSync({ lower: [l1], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: target! }), {
    code: 'EBUSY',
    field: 'upper',
    message: new RegExp(device),
  });
  t.same(loopsBackedBy(image), [device]);
  execFileSync('umount', [s.path('ro')]);
  // A read-write device whose superblock is mounted read-only: the kernel will not make it writable under that mount.
  const rw = losetupBind(t, image);
  fs.mkdirSync(s.path('ro-mount'));
  execFileSync('mount', ['-o', 'ro', rw, s.path('ro-mount')]);
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', s.path('ro-mount')], { stdio: 'ignore' });
    } catch {
      // unmounted by the test, or by the scratch teardown
    }
  });
  t.throws(() => mountSync({ lower: [l1], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: target! }), {
    code: 'EBUSY',
    field: 'upper',
    message: new RegExp(`mounted read-only through ${rw}`),
  });
  t.same(loopsBackedBy(image), [rw], 'no device added');
  execFileSync('umount', [s.path('ro-mount')]);
});

t.test('erofs or squashfs as the upper image is refused before mounting: it must be a writable ext4 image', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/upper/f': '', 'l1/x': '' });
  const images = [makeErofs(s.path('src'), s.path('A.erofs')), makeSquashfs(s.path('src'), s.path('A.sq'))];
  const [target] = s.mkdirs('merged');
  for (const image of images) {
    t.throws(() => mountSync({ lower: [s.path('l1')], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: target! }), {
      code: 'EINVAL',
      field: 'upper',
      path: image,
      message: /the upper image must be a writable ext4 image/,
    });
    t.same(loopsBackedBy(image), [], 'nothing bound');
  }
});

t.test('the same image read-only in one stack and writable in another: the writer is refused while the reader holds its device', needsImages, async (t) => {
  const s = scratch(t);
  const { l1, l2, image } = layers(s);
  const [d1, d2] = s.mkdirs('d1', 'd2');
  const reader: OverlayMount = mountSync({ lower: [{ image }, l1], target: d1! });
  t.throws(() => mountSync({ lower: [l2], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: d2! }), { code: 'EBUSY', field: 'upper' });
  reader.unmountSync();
  // And the other way round: a reader of an image a stack writes goes through the writer's device.
  const writer = mountSync({ lower: [l2], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: d2! });
  fs.writeFileSync(`${d2}/written`, 'w');
  const again = mountSync({ lower: [{ image, path: 'upper' }, l1], target: d1! });
  t.equal(again.images[0]!.loopDevice, writer.images[0]!.loopDevice);
  t.equal(fs.readFileSync(`${d1}/written`, 'utf8'), 'w');
  again.unmountSync();
  writer.unmountSync();
  t.same(loopsBackedBy(image), []);
});

t.test('apply refuses an upper or work inside an image by name, before touching anything: its work generations live in a directory', needsImages, async (t) => {
  const s = scratch(t);
  const { l1, image } = layers(s);
  const [target] = s.mkdirs('merged');
  const stateFile = s.path('apply.json');
  const stack = { name: 'web', target: target!, lower: [l1], upper: { image, path: 'upper' }, work: { image, path: 'work' } };
  t.throws(() => applySync({ stacks: [stack] }, { stateFile }), {
    code: 'EINVAL',
    field: 'stacks[0].work',
    message: /fresh work directory inside the declared work .* cannot do inside an image/,
  });
  t.same(loopsBackedBy(image), [], 'nothing bound');
  t.notOk(fs.existsSync(stateFile), 'no record written');
});
