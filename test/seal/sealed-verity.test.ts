// fs-verity for real: a store on its own ext4 made with `mkfs.ext4 -O
// verity`, loop-mounted by the test. Where the kernel has fs-verity (ext4
// lists it in /sys/fs/ext4/features: Debian's 6.1 and 6.12 do, this
// machine's 6.18 does not) seal enables it on every object, the kernel's own
// measure of each object is its name, and a changed byte reads as EIO; with overlay's verity (6.6+) `verity: 'require'` mounts and
// reads, a byte flipped on the disk underneath makes reading that file fail
// with EIO and verify names the object, and an image entry whose object has
// no fs-verity is refused at mount (the kernel itself would fail the open
// with EIO, shown with a mount the library does not check). Where the
// kernel lacks either, what is true there is asserted instead: objects
// without fs-verity, verity refused naming the kernel or the filesystem, a
// flipped byte read back unchecked and named by verify.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import t from 'tap';
import { mountSync, sealSync, verify, verifySync, type OverlayMount } from '../../lib/index';
import { native } from '../../lib/core/native';
import { needsImages } from '../helpers/images';
import { mountLoop } from '../helpers/filesystems';
import { superOptions, unmountAtEnd } from '../helpers/mounts';
import { scratch, type Scratch } from '../helpers/scratch';
import { makeSealed } from './sealed-images';

const [major = 0, minor = 0] = os.release().split('.').map((n) => parseInt(n, 10));
const OVERLAY_VERITY = major > 6 || (major === 6 && minor >= 6);
/** ext4 lists its optional features here; `verity` only when the kernel has fs-verity (CONFIG_FS_VERITY). */
const FS_VERITY = fs.existsSync('/sys/fs/ext4/features/verity');
const ENODATA = 61;
/** How a kernel without fs-verity answers FS_IOC_MEASURE_VERITY: EOPNOTSUPP (95, which Python and Node name ENOTSUP), or ENOTTY from a filesystem that has no such ioctl. */
const NO_VERITY = new Set(['ENOTSUP', 'EOPNOTSUPP', 'ENOTTY']);

const FILES: Record<string, Buffer> = {
  'etc/os-release': Buffer.from('ID=verity\n'),
  'usr/bin/tool': Buffer.alloc(100 * 1024, 7),
  'usr/lib/victim': Buffer.alloc(64 * 1024, 'victim '),
};

// The kernel's FS_IOC_MEASURE_VERITY on each file, from Python (the host's
// own, read over 9p in the guest): the digest in hex, or the errno name.
const MEASURE = `
import errno, fcntl, struct, sys
for path in sys.argv[1:]:
    try:
        with open(path, 'rb') as f:
            buf = bytearray(struct.pack('HH', 0, 64) + bytes(64))
            fcntl.ioctl(f, 0xC0046686, buf)
            size = struct.unpack('HH', bytes(buf[:4]))[1]
            print(bytes(buf[4:4 + size]).hex())
    except OSError as e:
        print(errno.errorcode[e.errno])
`;

function kernelMeasure(files: string[]): string[] {
  return execFileSync('python3', ['-c', MEASURE, ...files], { encoding: 'utf8' }).trim().split('\n');
}

/** A store on a fresh ext4 with the verity feature, loop-mounted under the scratch dir (its teardown unmounts it). */
function verityStore(s: Scratch): { image: string; mountPoint: string; store: string } {
  const image = s.path('store-fs.img');
  fs.writeFileSync(image, '');
  fs.truncateSync(image, 64 * 1024 * 1024);
  // 4096-byte blocks: fs-verity's Merkle tree blocks (4096, as seal asks) may not exceed the filesystem's.
  execFileSync('mkfs.ext4', ['-q', '-F', '-b', '4096', '-O', 'verity', image]);
  const mountPoint = s.path('store-fs');
  mountLoop(image, mountPoint);
  const store = `${mountPoint}/store`;
  fs.mkdirSync(store);
  return { image, mountPoint, store };
}

function sealTree(s: Scratch, store: string, name = 'tree'): { image: string; objects: Record<string, string> } {
  const src = s.path(name);
  for (const [rel, data] of Object.entries(FILES)) {
    fs.mkdirSync(s.path(name, rel, '..'), { recursive: true });
    fs.writeFileSync(s.path(name, rel), data);
  }
  const image = s.path(`${name}.img`);
  sealSync(src, { store, image });
  const objects: Record<string, string> = {};
  for (const rel of Object.keys(FILES)) {
    const hex = native.fsverityDigestSync(s.path(name, rel));
    objects[rel] = `${hex.slice(0, 2)}/${hex.slice(2)}`;
  }
  return { image, objects };
}

function unmountStore(mountPoint: string): void {
  execFileSync('umount', [mountPoint]);
}

/** One byte of the file at `rel` (from the ext4's root) flipped on the ext4 image itself, the filesystem unmounted. */
function flipOnDisk(image: string, rel: string, offset: number): void {
  // debugfs `bmap FILE 0`: the physical block of the file's first logical block.
  const block = Number(execFileSync('debugfs', ['-R', `bmap /${rel} 0`, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  if (!Number.isInteger(block) || block <= 0) throw new Error(`debugfs gave no block for /${rel}`);
  const fd = fs.openSync(image, 'r+');
  try {
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, block * 4096 + offset);
    byte[0]! ^= 0x01;
    fs.writeSync(fd, byte, 0, 1, block * 4096 + offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const readError = (file: string): string | undefined => {
  try {
    fs.readFileSync(file);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
};

t.test(`seal into an ext4 store made with -O verity (this kernel: fs-verity ${FS_VERITY ? 'yes' : 'no'}, overlay verity ${OVERLAY_VERITY ? 'yes' : 'no'})`, needsImages, async (t) => {
  const s = scratch(t);
  const { store } = verityStore(s);
  const { image, objects } = sealTree(s, store);
  const paths = Object.values(objects).map((o) => `${store}/${o}`);
  const measured = kernelMeasure(paths);
  if (FS_VERITY) {
    t.same(measured, Object.values(objects).map((o) => o.replace('/', '')), 'every object has fs-verity on, and the kernel measures it as its name');
    t.throws(() => fs.appendFileSync(paths[0]!, 'x'), { code: 'EPERM' }, 'an object with fs-verity cannot be opened for writing');
  } else {
    t.same(measured.filter((m) => !NO_VERITY.has(m)), [], `the kernel cannot measure any object: ${[...new Set(measured)].join(', ')}`);
  }

  const [target] = s.mkdirs('m');
  const plain = unmountAtEnd(t, mountSync({ lower: [{ sealed: image, store }], target: target! }));
  t.equal(plain.sealed?.verity, 'off');
  t.equal(fs.readFileSync(`${target}/etc/os-release`, 'utf8'), 'ID=verity\n', 'without verity asked, a sealed layer mounts and reads on any kernel');
  plain.unmountSync();

  const lower = [{ sealed: image, store }];
  if (!OVERLAY_VERITY) {
    t.throws(() => mountSync({ lower, target: target!, verity: 'require' }), { code: 'ENOTSUP', field: 'verity', message: new RegExp(`\\(Linux 6\\.6\\+\\), this kernel is ${os.release().replace(/[.+]/g, '\\$&')}`) });
  } else if (!FS_VERITY) {
    t.throws(() => mountSync({ lower, target: target!, verity: 'require' }), {
      code: 'ENOTSUP',
      field: 'lower[0].store',
      path: store,
      message: /verity=require: the store's filesystem \(ext4\) has no fs-verity on this kernel \(FS_IOC_MEASURE_VERITY: (ENOTSUP|EOPNOTSUPP)\)/,
    });
  } else {
    const m: OverlayMount = unmountAtEnd(t, mountSync({ lower, target: target!, verity: 'require' }));
    t.equal(m.sealed?.verity, 'require');
    t.ok(superOptions(target!).includes('verity=require'), `the kernel mounted with verity=require: ${superOptions(target!).join(',')}`);
    for (const [rel, data] of Object.entries(FILES)) t.same(fs.readFileSync(`${target}/${rel}`), data, `${rel} reads, checked by the kernel`);
    m.unmountSync();
  }
  t.notOk(fs.readdirSync(target!).length, 'nothing left mounted');
});

t.test('a byte flipped in an object on the disk underneath', needsImages, async (t) => {
  const s = scratch(t);
  const { image: disk, mountPoint, store } = verityStore(s);
  const { image, objects } = sealTree(s, store);
  const victim = objects['usr/lib/victim']!;
  unmountStore(mountPoint);
  flipOnDisk(disk, `store/${victim}`, 1000);
  mountLoop(disk, mountPoint);

  const [target] = s.mkdirs('m');
  // Without overlay's verity (before 6.6) the kernel knows no `verity=` at all, not even off: none is asked.
  const verity = OVERLAY_VERITY && FS_VERITY ? 'require' : undefined;
  const m = unmountAtEnd(t, mountSync({ lower: [{ sealed: image, store }], target: target!, ...(verity ? { verity } : {}) }));
  t.equal(fs.readFileSync(`${target}/etc/os-release`, 'utf8'), 'ID=verity\n', 'the other files read');
  if (FS_VERITY) {
    t.equal(readError(`${target}/usr/lib/victim`), 'EIO', `reading the changed file through the mount (verity=${verity ?? 'not asked'}) fails with EIO: fs-verity checks its blocks`);
    t.equal(readError(`${store}/${victim}`), 'EIO', 'so does reading the object itself');
  } else {
    const read = fs.readFileSync(`${target}/usr/lib/victim`);
    t.equal(read[1000], FILES['usr/lib/victim']![1000]! ^ 0x01, 'without fs-verity the kernel checks nothing: the changed byte is read');
  }
  m.unmountSync();

  for (const result of [verifySync(store, [image]), await verify(store, [image])]) {
    t.equal(result.ok, false);
    t.equal(result.objects, 3);
    t.same(result.problems.map((p) => [p.path, p.reason]), [[`${store}/${victim}`, FS_VERITY ? 'EIO' : 'mismatch']], 'verify names the object');
  }
});

t.test('an image entry whose object has no fs-verity is refused at mount, naming the object and the file', needsImages, async (t) => {
  const s = scratch(t);
  const { store } = verityStore(s);
  const { image } = sealTree(s, store);
  // An image made without seal: its objects are written plainly, fs-verity never enabled.
  const loose = makeSealed(s, 'loose', { 'bin/loose': 'written without fs-verity\n' }, store);
  const looseObject = loose.objects['bin/loose']!;
  const [target] = s.mkdirs('m');
  const lower = [{ sealed: image, store }, { sealed: loose.image, store }];
  if (!OVERLAY_VERITY || !FS_VERITY) {
    const measured = kernelMeasure([`${store}/${looseObject}`]);
    if (FS_VERITY) t.same(measured, ['ENODATA'], 'the object has no fs-verity (the filesystem has it)');
    else t.same(measured.filter((m) => !NO_VERITY.has(m)), [], 'the kernel cannot measure the object here');
    t.throws(() => mountSync({ lower, target: target!, verity: 'require' }), { code: 'ENOTSUP', field: OVERLAY_VERITY ? 'lower[0].store' : 'verity' }, 'verity is refused before any object is looked at');
    return;
  }
  t.same(native.unverifiedObjectsSync(image, store, 'lower[0]'), [], 'the sealed image: every object has fs-verity with its digest');
  t.same(native.unverifiedObjectsSync(loose.image, store, 'lower[1]'), [[looseObject, '/bin/loose', ENODATA]]);
  for (const verity of ['on', 'require'] as const) {
    t.throws(() => mountSync({ lower, target: target!, verity }), {
      code: 'ENOTSUP',
      field: 'lower[1].store',
      path: store,
      message: `verity=${verity}: object ${looseObject} of /bin/loose in ${loose.image} has no fs-verity enabled, so the kernel would refuse to open it (EIO)`,
    });
  }
  t.notOk(fs.readdirSync(target!).length, 'nothing was mounted');

  // The kernel's own answer, with mount(8) and no check before it: the mount is made, the open fails
  // (the scratch teardown unmounts both mounts should an assertion throw first).
  const meta = s.path('loose-meta-mounted');
  mountLoop(loose.image, meta, true);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${meta}::${store},metacopy=on,redirect_dir=follow,verity=require`, target!]);
  t.equal(fs.statSync(`${target}/bin/loose`).size, 'written without fs-verity\n'.length, 'verity=require mounts, and the file is looked up');
  t.equal(readError(`${target}/bin/loose`), 'EIO', 'opening it fails with EIO: the kernel checks only at open');
  execFileSync('umount', [target!]);
  execFileSync('umount', [meta]);
});
