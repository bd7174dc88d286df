// The walkthrough through `ovl`: --upper-image on one ext4 file in
// two stacks and across replaces keeps one superblock, so every file
// written through any stack is in the image (read with debugfs, not
// mounted); and the image messages in text mode name the layer.
import * as fs from 'node:fs';
import t from 'tap';
import { kernelFeatures, listMountsSync } from '../../lib/index';
import { ovl } from '../helpers/cli';
import { debugfsList, loopsBackedBy, makeErofs, makeExt4, makeSquashfs, needsImages } from '../helpers/images';
import { scratch } from '../helpers/scratch';

const kernel = kernelFeatures();
const noReplace = !(kernel.moveMountBeneath && kernel.lowerdirPlus) && 'replace needs MOVE_MOUNT_BENEATH and lowerdir+ (6.8+)';

function writeFiles(dir: string, prefix: string, count: number): void {
  for (let i = 0; i < count; i++) fs.writeFileSync(`${dir}/${prefix}${i}`, `${prefix}${i}`);
}

const inImage = (image: string, dir: string, prefix: string): number => [...debugfsList(image, dir).keys()].filter((n) => n.startsWith(prefix)).length;

t.test('ovl replace --upper-image keeps the superblock: every file of every stack is in the image', { skip: needsImages.skip || noReplace }, async (t) => {
  const s = scratch(t);
  s.write({ 'l1/from-l1': '', 'l2/from-l2': '' });
  const image = makeExt4(s.path('u.ext4'));
  s.mkdirs('d1');
  const d1 = s.path('d1');
  const mounted = ovl(['mount', '--lower', 'l1', '--upper-image', 'u.ext4', 'd1'], { cwd: s.dir });
  t.equal(mounted.status, 0, mounted.stderr);
  writeFiles(d1, 'one-', 100);
  // Twice: the new stack's work is work2/, then work/ again, whichever the stack replaced does not use.
  for (const [lower, prefix] of [
    ['l2', 'two-'],
    ['l1', 'three-'],
  ] as const) {
    const replaced = ovl(['replace', '--lower', lower, '--upper-image', 'u.ext4', 'd1'], { cwd: s.dir });
    t.equal(replaced.status, 0, replaced.stderr);
    t.ok(fs.existsSync(`${d1}/from-${lower}`), `the stack on ${lower}`);
    t.equal(fs.readdirSync(d1).filter((n) => n.startsWith('one-')).length, 100, 'every file of the first stack is there');
    writeFiles(d1, prefix, 50);
  }
  t.equal(listMountsSync({ target: d1 }).length, 1, 'one stack on the target');
  const unmounted = ovl(['umount', 'd1'], { cwd: s.dir });
  t.equal(unmounted.status, 0, unmounted.stderr);
  t.same(loopsBackedBy(image), []);
  t.same(
    ['one-', 'two-', 'three-'].map((prefix) => inImage(image, '/upper', prefix)),
    [100, 50, 50],
    'all 200 files are in the image',
  );
  t.ok(debugfsList(image, '/').has('work2'), 'the second stack had work2/ for its work');
});

t.test('ovl mount of a second stack on the same --upper-image: EBUSY naming upper, the other target and its mount id', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'l1/a': '', 'l2/b': '' });
  const image = makeExt4(s.path('u.ext4'));
  s.mkdirs('d1', 'd2');
  const first = ovl(['mount', '--lower', 'l1', '--upper-image', 'u.ext4', 'd1'], { cwd: s.dir });
  t.equal(first.status, 0, first.stderr);
  const [live] = listMountsSync({ target: s.path('d1') });
  const second = ovl(['mount', '--lower', 'l2', '--upper-image', 'u.ext4', 'd2'], { cwd: s.dir });
  t.not(second.status, 0);
  t.match(second.stderr, /^ovl: mount: EBUSY: upper: /);
  t.match(second.stderr, `the upper of the overlay mounted on ${s.path('d1')} (mount id ${live!.mountId})`);
  t.same(listMountsSync({ target: s.path('d2') }), [], 'nothing mounted on d2');
  t.equal(loopsBackedBy(image).length, 1, 'one device on the image');
  t.equal(ovl(['umount', 'd1'], { cwd: s.dir }).status, 0);
});

t.test('ovl: an erofs or squashfs --upper-image is refused as not a writable ext4 image; a refused image is named by its layer', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/f': '', 'l1/a': '' });
  makeErofs(s.path('src'), s.path('A.erofs'));
  makeSquashfs(s.path('src'), s.path('A.sq'));
  s.mkdirs('d');
  for (const image of ['A.erofs', 'A.sq']) {
    const r = ovl(['mount', '--lower', 'l1', '--upper-image', image, 'd'], { cwd: s.dir });
    t.not(r.status, 0);
    t.match(r.stderr, /EINVAL: upper: the upper image must be a writable ext4 image/, image);
    t.same(loopsBackedBy(s.path(image)), []);
  }
  // ext4 with a broken superblock (s_log_block_size): the kernel's refusal, its reason in dmesg only.
  const bad = makeExt4(s.path('bad.ext4'), s.path('src'));
  const fd = fs.openSync(bad, 'r+');
  fs.writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4, 1024 + 24);
  fs.closeSync(fd);
  const refused = ovl(['mount', '--lower-image', 'bad.ext4', '--lower', 'l1', 'd'], { cwd: s.dir });
  t.not(refused.status, 0);
  t.match(refused.stderr, /^ovl: mount: lower\[0\]: EINVAL: .*bad\.ext4/, 'named by its layer and its path');
});
