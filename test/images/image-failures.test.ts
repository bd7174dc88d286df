// Every way an image layer can fail leaves nothing behind: no loop device
// bound to any of the request's images, no image superblock, no fd, no
// mount; and the error names the layer, with the kernel's words where it gave any.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { mount, mountSync, OverlayError, type MountOptions } from '../../lib/index';
import { erofsSuperblocks, loopsBackedBy, makeErofs, makeExt4, makeSquashfs, needsImages } from '../helpers/images';
import { newFds, openFdLinks } from '../helpers/live';
import { mountsAt } from '../helpers/mounts';
import { scratch, type Scratch } from '../helpers/scratch';

interface Setup {
  s: Scratch;
  target: string;
  plain: string;
  squashfs: string;
  erofs: string;
  ext4: string;
}

function setup(t: Test): Setup {
  const s = scratch(t);
  s.write({ 'src/f': 'x', 'plain/p': '' });
  const [target] = s.mkdirs('merged');
  return {
    s,
    target: target!,
    plain: s.path('plain'),
    squashfs: makeSquashfs(s.path('src'), s.path('sq.img')),
    erofs: makeErofs(s.path('src'), s.path('er.img')),
    ext4: makeExt4(s.path('ex.img'), s.path('src')),
  };
}

/** Copies `image` and overwrites `bytes` at `offset`. */
function corrupt(image: string, copy: string, offset: number, bytes: number[]): string {
  fs.copyFileSync(image, copy);
  const fd = fs.openSync(copy, 'r+');
  fs.writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset);
  fs.closeSync(fd);
  return copy;
}

/**
 * Runs the request both ways (Sync, then Promise) and checks each failure
 * matches `expected` and leaves nothing of any image in `images`.
 */
async function failsCleanly(t: Test, x: Setup, options: MountOptions, expected: { code: string; [key: string]: unknown }, images: string[]): Promise<OverlayError> {
  const erofsBefore = erofsSuperblocks();
  const fdsBefore = openFdLinks();
  const linesBefore = mountsAt(x.target).length;
  const err = t.throws(() => mountSync(options), expected) as OverlayError;
  t.type(err, OverlayError);
  await t.rejects(mount(options), expected, 'the Promise form fails the same way');
  for (const image of images) t.same(loopsBackedBy(image), [], `no loop device bound to ${image}`);
  t.same([...erofsSuperblocks()].filter((id) => !erofsBefore.has(id)), [], 'no erofs superblock left');
  t.same(newFds(fdsBefore, openFdLinks()), [], 'no fd left open');
  t.equal(mountsAt(x.target).length, linesBefore, 'nothing mounted');
  return err;
}

t.test('a missing image file: ENOENT naming the layer, after the images before it were mounted', needsImages, async (t) => {
  const x = setup(t);
  await failsCleanly(
    t,
    x,
    { lower: [{ image: x.squashfs }, { image: x.erofs }, { image: x.s.path('missing.img') }], target: x.target },
    { code: 'ENOENT', field: 'lower[2]', syscall: 'open', path: x.s.path('missing.img') },
    [x.squashfs, x.erofs],
  );
});

t.test('a corrupt image: the kernel refuses it at create, the layer named, its words in detail', needsImages, async (t) => {
  const x = setup(t);
  // squashfs block_size 0: squashfs says why in the fs_context log.
  const bad = corrupt(x.squashfs, x.s.path('bad-sq.img'), 12, [0, 0, 0, 0]);
  const err = await failsCleanly(
    t,
    x,
    { lower: [{ image: x.ext4 }, { image: bad }], target: x.target },
    { code: 'EINVAL', field: 'lower[1]', syscall: 'fsconfig', path: bad },
    [x.ext4, bad],
  );
  t.ok(err.detail.length > 0, `the kernel's words: ${JSON.stringify(err.detail)}`);
  // erofs with a zero block size, and ext4 with a broken superblock: reasons in dmesg only.
  const badErofs = corrupt(x.erofs, x.s.path('bad-er.img'), 1036, [0, 0, 0, 0, 0, 0, 0, 0]);
  await failsCleanly(t, x, { lower: [x.plain, { image: badErofs }], target: x.target }, { code: 'EINVAL', field: 'lower[1]', syscall: 'fsconfig' }, [badErofs]);
  const badExt4 = corrupt(x.ext4, x.s.path('bad-ex.img'), 1024 + 24, [0xff, 0xff, 0xff, 0xff]); // s_log_block_size
  await failsCleanly(t, x, { lower: [x.plain, { image: badExt4 }], target: x.target }, { code: 'EINVAL', field: 'lower[1]', syscall: 'fsconfig' }, [badExt4]);
});

t.test('a wrong type: a squashfs image named ext4 is refused by ext4', needsImages, async (t) => {
  const x = setup(t);
  await failsCleanly(
    t,
    x,
    { lower: [{ image: x.squashfs, type: 'ext4' }, x.plain], target: x.target },
    { code: 'EINVAL', field: 'lower[0]', syscall: 'fsconfig' },
    [x.squashfs],
  );
});

t.test('a file that holds no known superblock, with no type: refused before the kernel mounts it', needsImages, async (t) => {
  const x = setup(t);
  const junk = x.s.path('junk.img');
  fs.writeFileSync(junk, Buffer.alloc(64 * 1024, 7));
  await failsCleanly(t, x, { lower: [x.plain, { image: junk }], target: x.target }, { code: 'EINVAL', field: 'lower[1]', reason: /no ext4, erofs or squashfs superblock/ }, [junk]);
  await failsCleanly(t, x, { lower: [x.plain, { image: x.plain }], target: x.target }, { code: 'EISDIR', field: 'lower[1]', reason: /not a regular file/ }, []);
});

t.test('an image the filesystem refuses read-write: ext4 with an unknown ro_compat feature as upper', needsImages, async (t) => {
  const x = setup(t);
  // A ro_compat bit no kernel knows, set with debugfs so the superblock checksum stays right.
  const image = x.s.path('rocompat.img');
  fs.copyFileSync(x.ext4, image);
  execFileSync('debugfs', ['-w', '-R', 'ssv feature_ro_compat 0x80000000', image], { stdio: 'ignore' });
  await failsCleanly(
    t,
    x,
    { lower: [{ image: x.squashfs }], upper: { image, path: 'upper' }, work: { image, path: 'work' }, target: x.target },
    { code: 'EINVAL', field: 'upper', syscall: 'fsconfig' },
    [image, x.squashfs],
  );
  // Read-only, as a lower, the same image mounts: the refusal was about writing.
  const m = mountSync({ lower: [{ image }, x.plain], target: x.target });
  t.equal(m.images[0]?.type, 'ext4');
  m.unmountSync();
  t.same(loopsBackedBy(image), []);
});

t.test('failures at later steps: a read-only image type as upper, a missing directory inside, a path leading out', needsImages, async (t) => {
  const x = setup(t);
  // squashfs cannot be written at all: refused before anything is mounted, saying what an upper image must be.
  await failsCleanly(
    t,
    x,
    { lower: [{ image: x.erofs }], upper: { image: x.squashfs, path: 'upper' }, work: { image: x.squashfs, path: 'work' }, target: x.target },
    { code: 'EINVAL', field: 'upper', path: x.squashfs, message: /the upper image must be a writable ext4 image/ },
    [x.squashfs, x.erofs],
  );
  await failsCleanly(
    t,
    x,
    { lower: [{ image: x.squashfs }, { image: x.ext4, path: 'nope' }], target: x.target },
    { code: 'ENOENT', field: 'lower[1]' },
    [x.squashfs, x.ext4],
  );
  // A symlink in the image pointing at the host's tree is not followed out of it.
  x.s.write({ 'esc-src/keep': '' });
  fs.symlinkSync('/etc', x.s.path('esc-src/escape'));
  const escape = makeExt4(x.s.path('esc.img'), x.s.path('esc-src'));
  await failsCleanly(t, x, { lower: [x.plain, { image: escape, path: 'escape' }], target: x.target }, { code: 'EXDEV', field: 'lower[1]' }, [escape]);
  // A plain layer that is missing, after the images were mounted.
  await failsCleanly(
    t,
    x,
    { lower: [{ image: x.squashfs }, { image: x.ext4 }, x.s.path('no-such-dir')], target: x.target },
    { code: 'ENOENT', field: 'lower[2]' },
    [x.squashfs, x.ext4],
  );
  // The overlay itself refuses: upper and work the same directory of one image.
  const rw = makeExt4(x.s.path('rw.img'));
  await failsCleanly(
    t,
    x,
    { lower: [{ image: x.squashfs }], upper: { image: rw, path: 'same' }, work: { image: rw, path: 'same' }, target: x.target },
    { code: 'EINVAL', field: 'work' },
    [x.squashfs, rw],
  );
  // And the target: overlay created, then refused where it would be attached.
  await failsCleanly(t, x, { lower: [{ image: x.squashfs }, { image: x.ext4 }], target: x.s.path('no-target') }, { code: 'ENOENT', field: 'target' }, [x.squashfs, x.ext4]);
});

t.test('bad image layer options are refused before anything is opened, naming the field', async (t) => {
  const target = '/nonexistent-target';
  t.throws(() => mountSync({ lower: [{ image: '/x.img', type: 'vfat' as 'ext4' }, '/b'], target }), { code: 'EINVAL', field: 'lower[0].type' });
  t.throws(() => mountSync({ lower: [{ image: '/x.img', path: '../up' }, '/b'], target }), { code: 'EINVAL', field: 'lower[0].path', message: /'\.\.'/ });
  t.throws(() => mountSync({ lower: [{ image: '' }, '/b'], target }), { code: 'EINVAL', field: 'lower[0].image' });
  t.throws(() => mountSync({ lower: [{ image: '/x.img', size: 3 } as unknown as { image: string }, '/b'], target }), { code: 'EINVAL', field: 'lower[0].size' });
  t.throws(() => mountSync({ lower: ['/a'], upper: { image: '/u.img', path: 'u' }, work: { image: 7 } as unknown as { image: string }, target }), { code: 'ERR_INVALID_ARG_TYPE', field: 'work.image' });
});
