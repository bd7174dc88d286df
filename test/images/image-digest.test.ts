// An image layer's `digest`: the image file's fs-verity digest, measured by
// the addon on the file it then mounts. A match mounts; a mismatch, on any
// image of the stack and in either form, is refused naming the layer's
// digest field, with nothing mounted and no loop device left bound.
import * as fs from 'node:fs';
import t from 'tap';
import { checkSync, mount, mountSync, replaceSync, kernelFeatures } from '../../lib/index';
import { erofsSuperblocks, loopsBackedBy, makeImages, needsImages } from '../helpers/images';
import { mountsAt } from '../helpers/mounts';
import { scratch } from '../helpers/scratch';
import { referenceDigest } from '../seal/fsverity-reference';

const digestOf = (file: string): string => `sha256:${referenceDigest(fs.readFileSync(file))}`;
const kernel = kernelFeatures();

t.test('a matching digest mounts, in either case of hex; one that differs is refused before anything is mounted', needsImages, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const right = { squashfs: digestOf(img.squashfs), ext4: digestOf(img.ext4) };
  const m = mountSync({ lower: [{ image: img.squashfs, digest: right.squashfs.toUpperCase().replace('SHA256', 'sha256') }, { image: img.ext4, path: 'sub', digest: right.ext4 }], target: target! });
  t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'squashfs');
  m.unmountSync();

  const erofsBefore = erofsSuperblocks();
  const wrong = `sha256:${'0'.repeat(64)}`;
  // The second image is the wrong one: the first, measured and right, must not stay mounted either.
  const lower = [{ image: img.squashfs, digest: right.squashfs }, { image: img.erofs, digest: wrong }, img.plain];
  const message = new RegExp(`fs-verity digest is ${digestOf(img.erofs)}, not the ${wrong} asked`);
  t.throws(() => mountSync({ lower, target: target! }), { code: 'EINVAL', errno: -22, field: 'lower[1].digest', path: img.erofs, message });
  await t.rejects(mount({ lower, target: target! }), { code: 'EINVAL', field: 'lower[1].digest', path: img.erofs });
  t.same(mountsAt(target!), [], 'nothing mounted');
  for (const image of [img.squashfs, img.erofs]) t.same(loopsBackedBy(image), [], `no loop device bound to ${image}`);
  t.same([...erofsSuperblocks()].filter((id) => !erofsBefore.has(id)), [], 'no erofs superblock left');
});

t.test('a digest on a data layer and on the upper image is measured too', needsImages, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const wrong = `sha256:${'f'.repeat(64)}`;
  if (kernel.lowerdirPlus) {
    t.throws(() => mountSync({ lower: [img.plain, { image: img.squashfs }], data: [{ image: img.erofs, digest: wrong }], target: target! }), { code: 'EINVAL', field: 'data[0].digest' });
  }
  t.throws(() => mountSync({ lower: [img.plain], upper: { image: img.ext4, path: 'up', digest: wrong }, work: { image: img.ext4, path: 'wk' }, target: target! }), { code: 'EINVAL', field: 'upper.digest' });
  t.same(mountsAt(target!), [], 'nothing mounted');
  t.same(loopsBackedBy(img.ext4), [], 'the upper image is not bound');
});

t.test('replace and check measure the same way', needsImages, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target, upper, work] = s.mkdirs('merged', 'upper', 'work');
  const wrong = `sha256:${'1'.repeat(64)}`;
  t.throws(() => checkSync({ upper: upper!, work: work!, lower: [{ image: img.erofs, digest: wrong }] }), { code: 'EINVAL', field: 'lower[0].digest' });
  t.ok(checkSync({ upper: upper!, work: work!, lower: [{ image: img.erofs, digest: digestOf(img.erofs) }] }), 'check takes the right digest');
  if (!(kernel.moveMountBeneath && kernel.lowerdirPlus)) return;
  const m = mountSync({ lower: [img.plain, { image: img.squashfs }], target: target! });
  t.throws(() => replaceSync(target!, { lower: [{ image: img.erofs, digest: wrong }, img.plain] }), { code: 'EINVAL', field: 'lower[0].digest' });
  t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'plain', 'the old stack stays');
  t.ok(m.mounted);
  m.unmountSync();
});

t.test('a malformed digest is refused by the library, naming the field', async (t) => {
  for (const digest of ['md5:00', 'sha256:abc', `sha256:${'g'.repeat(64)}`]) {
    t.throws(() => mountSync({ lower: [{ image: '/nonexistent.img', digest }, '/b'], target: '/m' }), { code: 'EINVAL', field: 'lower[0].digest', message: /sha256:<64 hex digits>/ }, digest);
  }
  t.throws(() => mountSync({ lower: [{ image: '/nonexistent.img', digest: 42 } as never, '/b'], target: '/m' }), { code: 'ERR_INVALID_ARG_TYPE', field: 'lower[0].digest' });
});
