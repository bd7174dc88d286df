// Image files as layers: squashfs, erofs and ext4 images mounted detached and
// handed to overlay, with nothing but the overlay ever in the mount table and
// nothing (loop device, image superblock, fd) left after an unmount, plain or
// lazy, or after any failure.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { kernelFeatures, listMountsSync, mount, mountSync, replace, replaceSync, type MechanismName, type OverlayMount } from '../../lib/index';
import { needsUserNamespaces } from '../helpers/idmap';
import { erofsSuperblocks, loopBacking, loopsBackedBy, makeErofs, makeExt4, makeImages, makeSquashfs, needsImages } from '../helpers/images';
import { newFds, openFdLinks } from '../helpers/live';
import { settled, waitFor } from '../helpers/mounts';
import { scratch } from '../helpers/scratch';
import { nodeCommand } from '../helpers/child-env';

// What this kernel offers: fsconfig mechanisms need `lowerdir+` (6.8+), layer fds 6.13+; replace needs MOVE_MOUNT_BENEATH and `lowerdir+`.
const kernel = kernelFeatures();
const MECHANISMS: MechanismName[] = [
  'mount',
  'mount-fd-path',
  'mount-fd-relative',
  ...(kernel.lowerdirPlus ? (['fsconfig-path'] as const) : []),
  ...(kernel.layerFd ? (['fsconfig-fd'] as const) : []),
];
const noReplace = !(kernel.moveMountBeneath && kernel.lowerdirPlus) && 'replace needs MOVE_MOUNT_BENEATH and lowerdir+ (6.8+)';

/** Every image of a mount and every loop device it used are gone, checked device by device. */
function assertFreed(t: Test, m: OverlayMount, images: string[], erofsBefore: Set<string>): void {
  for (const image of m.images) {
    if (image.loopDevice) t.equal(loopBacking(image.loopDevice), '', `${image.loopDevice} (${image.type}) is unbound`);
    if (image.loopDevice && image.type === 'ext4') t.notOk(fs.existsSync(`/sys/fs/ext4/${image.loopDevice.slice(5)}`), 'no ext4 superblock left on it');
  }
  assertNothingOf(t, images, erofsBefore);
}

/** No loop device is bound to any of `images`, and no erofs superblock appeared. */
function assertNothingOf(t: Test, images: string[], erofsBefore: Set<string>): void {
  for (const image of images) t.same(loopsBackedBy(image), [], `no loop device bound to ${image}`);
  const appeared = [...erofsSuperblocks()].filter((id) => !erofsBefore.has(id));
  t.same(appeared, [], 'no erofs superblock left');
}

t.test('a mixed stack: squashfs, erofs, an ext4 subdirectory and a plain directory, in precedence', needsImages, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const erofsBefore = erofsSuperblocks();
  const fdsBefore = openFdLinks();
  const m = mountSync({
    lower: [{ image: img.squashfs }, { image: img.erofs }, { image: img.ext4, path: 'sub' }, img.plain],
    target: target!,
  });
  t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'squashfs', 'the top layer wins');
  t.same(fs.readdirSync(target!).sort(), ['f', 'only-er', 'only-ex', 'only-plain', 'only-sq'], 'every layer shows; no lost+found from the ext4 root');
  t.same(
    m.images.map((i) => [i.image, i.type, i.readOnly]),
    [
      [img.squashfs, 'squashfs', true],
      [img.erofs, 'erofs', true],
      [img.ext4, 'ext4', true],
    ],
  );
  for (const i of m.images) if (i.loopDevice) t.equal(loopBacking(i.loopDevice), i.image, `${i.loopDevice} is bound to ${i.type} image`);
  const loops = m.images.filter((i) => i.loopDevice).map((i) => i.loopDevice!);
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  t.same(mountinfo.filter((l) => loops.some((d) => l.includes(` ${d} `)) || l.includes(s.dir)).length, 1, 'only the overlay is in the mount table');

  const [listed] = listMountsSync({ target: target! });
  t.same(listed?.lower, [img.squashfs, img.erofs, img.ext4, img.plain], 'listMounts names the image files');
  // mountinfo's own name for each: the detached tree ('/', '/sub') on 6.15+, an fd name through the detour.
  const imageNotes = listed?.notes.filter((n) => n.kind === 'image') ?? [];
  t.same(
    imageNotes.map((n) => n.field),
    ['lower[0]', 'lower[1]', 'lower[2]'],
  );
  imageNotes.forEach((n, i) => t.match(n.name, i === 2 ? /^(\/sub|\/proc\/self\/fd\/\d+)$/ : /^(\/|\/proc\/self\/fd\/\d+)$/));
  m.unmountSync();
  assertFreed(t, m, [img.squashfs, img.erofs, img.ext4], erofsBefore);
  t.same(newFds(fdsBefore, openFdLinks()), [], 'no fd left open');
});

t.test('the Promise form: nothing but the overlay in the mount table at any moment while it mounts', needsImages, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const erofsBefore = erofsSuperblocks();
  const seen = new Set<string>();
  let done = false;
  const watch = (async () => {
    while (!done) {
      for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) seen.add(line);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const m = await mount({ lower: [{ image: img.squashfs }, { image: img.ext4, path: 'sub' }, { image: img.erofs }], target: target! });
  done = true;
  await watch;
  const loops = m.images.filter((i) => i.loopDevice).map((i) => i.loopDevice!);
  t.ok(loops.length >= 2, 'squashfs and ext4 went through loop devices');
  t.same([...seen].filter((l) => / - (ext4|erofs|squashfs) /.test(l) && loops.some((d) => l.includes(` ${d} `))), [], 'no image mount ever showed');
  t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'squashfs');
  await m.unmount();
  assertFreed(t, m, [img.squashfs, img.erofs, img.ext4], erofsBefore);
});

t.test('the same image several times in one request is mounted once', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/a/f': 'a', 'src/b/f': 'b', 'src/b/only-b': '' });
  const image = makeExt4(s.path('two.img'), s.path('src'));
  const [target] = s.mkdirs('merged');
  const m = mountSync({ lower: [{ image, path: 'a' }, { image, path: '/b/' }], target: target! });
  t.equal(m.images.length, 1, 'one image mount');
  t.same(loopsBackedBy(image), [m.images[0]!.loopDevice], 'one loop device');
  t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'a');
  t.ok(fs.existsSync(`${target}/only-b`));
  m.unmountSync();
  assertFreed(t, m, [image], new Set(erofsSuperblocks()));
});

t.test('upper and work from one read-write ext4 image, made if missing; writes land in the image', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'lower/kept': 'k', 'lower/gone': 'g' });
  const image = makeExt4(s.path('upper.img'));
  const [target] = s.mkdirs('merged');
  const m = mountSync({ lower: [s.path('lower')], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: target! });
  t.same(m.images.map((i) => [i.type, i.readOnly]), [['ext4', false]]);
  fs.writeFileSync(`${target}/new`, 'written');
  fs.unlinkSync(`${target}/gone`);
  const [listed] = listMountsSync({ target: target! });
  t.equal(listed?.upper, image);
  t.equal(listed?.work, image);
  m.unmountSync();
  assertFreed(t, m, [image], erofsSuperblocks());
  // Mounted again, read-only, the image holds what the first mount wrote.
  const again = mountSync({ lower: [{ image, path: 'upper' }, s.path('lower')], target: target! });
  t.equal(fs.readFileSync(`${target}/new`, 'utf8'), 'written');
  t.notOk(fs.existsSync(`${target}/gone`), 'the whiteout hides the deleted file');
  again.unmountSync();
  t.same(loopsBackedBy(image), []);
});

t.test('a lazy unmount frees the images when the last open file closes', needsImages, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const m = mountSync({ lower: [{ image: img.squashfs }, { image: img.ext4, path: 'sub' }], target: target! });
  const fd = fs.openSync(`${target}/only-ex`, 'r');
  t.throws(() => m.unmountSync(), { code: 'EBUSY' }, 'a plain unmount is refused while a file is open');
  m.unmountSync({ detach: true });
  const loops = m.images.map((i) => i.loopDevice!);
  t.same(loops.map(loopBacking), [img.squashfs, img.ext4], 'still bound while the file is open');
  fs.closeSync(fd);
  // The last reference goes on the way back from close(); allow the kernel a moment all the same.
  await settled(() => loops.every((d) => loopBacking(d) === ''));
  assertFreed(t, m, [img.squashfs, img.ext4], erofsSuperblocks());
});

t.test('replace from one image to another frees the old image once the old stack is gone', { skip: needsImages.skip || noReplace }, async (t) => {
  const s = scratch(t);
  s.write({ 'v1/f': 'one', 'v2/f': 'two', 'base/b': '' });
  const v1 = makeSquashfs(s.path('v1'), s.path('v1.img'));
  const v2 = makeSquashfs(s.path('v2'), s.path('v2.img'));
  const [target] = s.mkdirs('merged');
  const first = mountSync({ lower: [{ image: v1 }, s.path('base')], target: target! });
  const second = first.replaceSync({ lower: [{ image: v2 }, s.path('base')] });
  t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'two');
  t.equal(loopBacking(first.images[0]!.loopDevice!), second.images[0]!.loopDevice === first.images[0]!.loopDevice ? v2 : '', 'the old image is freed');
  t.same(loopsBackedBy(v1), [], 'nothing bound to the old image');
  const [listed] = listMountsSync({ target: target! });
  t.equal(listed?.lower[0], v2, 'the listing names the new image');
  second.unmountSync();
  t.same(loopsBackedBy(v2), []);
});

t.test('concurrent mounts from the pool threads each get their own loop device', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/f': 'x', 'base/b': '' });
  const images = [0, 1, 2, 3].map((i) => makeSquashfs(s.path('src'), s.path(`c${i}.img`)));
  const targets = s.mkdirs('m0', 'm1', 'm2', 'm3');
  const mounts = await Promise.all(images.map((image, i) => mount({ lower: [{ image }, s.path('base')], target: targets[i]! })));
  const loops = mounts.map((m) => m.images[0]!.loopDevice);
  t.equal(new Set(loops).size, 4, 'four different devices');
  mounts.forEach((m, i) => t.equal(loopBacking(m.images[0]!.loopDevice!), images[i]));
  await Promise.all(mounts.map((m) => m.unmount()));
  for (const image of images) t.same(loopsBackedBy(image), []);
});

t.test('every mechanism: mount(2) in a private namespace handing back a clone, fsconfig-path by fd names; nothing left', needsImages, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const upper = makeExt4(s.path('upper.img'));
  const [target] = s.mkdirs('merged');
  const erofsBefore = erofsSuperblocks();
  for (const mechanism of MECHANISMS) {
    const m = mountSync({
      mechanism,
      lower: [{ image: img.squashfs }, { image: img.erofs }, { image: img.ext4, path: 'sub' }, img.plain],
      upper: { image: upper, path: 'upper' },
      work: { image: upper, path: 'work' },
      target: target!,
    });
    t.equal(m.mechanism, mechanism);
    t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'squashfs', `${mechanism}: the top layer wins`);
    fs.writeFileSync(`${target}/${mechanism}`, '');
    const loops = m.images.filter((i) => i.loopDevice).map((i) => i.loopDevice!);
    const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    t.same(lines.filter((l) => loops.some((d) => l.includes(` ${d} `)) || l.includes(s.dir)).length, 1, `${mechanism}: only the overlay is in the mount table`);
    const [listed] = listMountsSync({ target: target! });
    t.same([listed?.lower, listed?.upper], [[img.squashfs, img.erofs, img.ext4, img.plain], upper], `${mechanism}: every layer named, plain ones too`);
    m.unmountSync();
    assertFreed(t, m, [img.squashfs, img.erofs, img.ext4, upper], erofsBefore);
  }
});

t.test('overlay itself refusing the stack (overlapping layers in one image) leaves nothing, in every mechanism', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/a/b/f': '' });
  const image = makeExt4(s.path('nested.img'), s.path('src'));
  const [target] = s.mkdirs('merged');
  for (const mechanism of MECHANISMS) {
    const fdsBefore = openFdLinks();
    t.throws(() => mountSync({ mechanism, lower: [{ image, path: 'a' }, { image, path: 'a/b' }], target: target! }), { code: 'ELOOP' }, mechanism);
    t.same(loopsBackedBy(image), [], `${mechanism}: no loop device left`);
    t.same(newFds(fdsBefore, openFdLinks()), [], `${mechanism}: no fd left`);
  }
});

t.test('idmapped image layers: each layer inside an image cloned and idmapped like a directory', { skip: needsImages.skip || needsUserNamespaces.skip }, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const options = { lower: [{ image: img.ext4, path: 'sub' }, img.plain], idmap: { uidMap: [[0, 100000, 65536] as const] }, target: target! };
  // Before 6.15 (open_tree will not clone a detached mount) the layer is idmapped in the private namespace instead: test/images/image-idmap.test.ts.
  const m = mountSync(options);
  t.equal(fs.statSync(`${target}/only-ex`).uid, 100000, "the image's root-owned file shows as 100000");
  m.unmountSync();
  assertFreed(t, m, [img.ext4], erofsSuperblocks());
});

t.test('replacing an erofs stack with a squashfs one and back: a reader through the target never fails', { skip: needsImages.skip || noReplace }, async (t) => {
  const s = scratch(t);
  s.write({ 'a/f': 'A', 'b/f': 'B', 'base/x': '' });
  const [aImage, bImage] = [makeErofs(s.path('a'), s.path('a.erofs')), makeSquashfs(s.path('b'), s.path('b.sq'))];
  const a = { lower: [{ image: aImage }, s.path('base')] };
  const b = { lower: [{ image: bImage }, s.path('base')] };
  const [target] = s.mkdirs('merged');
  let current = mountSync({ ...a, target: target! });
  const stop = s.path('stop');
  const reader = spawn(...nodeCommand([path.join(__dirname, '..', 'fixtures', 'path-reader.js'), stop, path.join(target!, 'f')]), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  reader.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => reader.on('close', resolve));
  await waitFor('the reader to see the first stack', () => fs.existsSync(`${stop}.saw-A`));
  for (let i = 0; i < 30; i++) {
    const next = i % 2 === 0 ? b : a;
    current = i % 3 === 0 ? replaceSync(target!, next) : await replace(target!, next);
    if (i === 0) await waitFor('the reader to see the second stack', () => fs.existsSync(`${stop}.saw-B`));
  }
  fs.writeFileSync(stop, '');
  t.equal(await exited, 0);
  const result = JSON.parse(out) as { reads: number; seen: Record<string, number>; errors: Record<string, number> };
  t.comment(`reader: ${JSON.stringify(result)}`);
  t.same(result.errors, {}, 'the reader never saw an error');
  t.ok(result.seen.A! > 0 && result.seen.B! > 0, 'and it saw both stacks');
  t.same(loopsBackedBy(bImage), [], 'the squashfs stack replaced last is freed');
  current.unmountSync();
  t.same(loopsBackedBy(aImage), []);
});
