// Idmapped image layers on every kernel that can idmap the image's
// filesystem: 6.15+ clone the detached image mount directly; older kernels
// (6.12: open_tree will not clone a detached mount) idmap it inside the
// private mount namespace where the image is attached, and 6.1 (no
// `lowerdir+`) mounts the overlay there with mount(2). Either way: a file
// owned by 0 in the image shows as the mapped uid, listMounts names the
// image, nothing but the overlay ever shows in the caller's mount table, and
// nothing (loop device, image superblock, fd, child) is left after an
// unmount, a replace, or a failure at any step.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import t, { type Test } from 'tap';
import { kernelFeatures, listMountsSync, mount, mountSync, replace, replaceSync, umountSync, type MechanismName, type MountOptions } from '../../lib/index';
import { toNativeRequest } from '../../lib/request/mount-request';
import { pack } from '../../lib/request/native-mount';
import { needsUserNamespaces } from '../helpers/idmap';
import { erofsSuperblocks, loopsBackedBy, makeExt4, makeImages, needsImages } from '../helpers/images';
import { childPids, newFds, openFdLinks } from '../helpers/live';
import { mountsAt } from '../helpers/mounts';
import { scratch, type Scratch } from '../helpers/scratch';
import { testAddon, testAddonPath } from '../helpers/test-addon';

const EIO = 5;
const EINVAL = 22;
const SHIFT = { uidMap: [[0, 100000, 65536] as const] };
const kernel = kernelFeatures();
const release = os.release().split('.').map((n) => parseInt(n, 10));
const atLeast = (major: number, minor: number): boolean => release[0]! > major || (release[0] === major && release[1]! >= minor);
const skip = { skip: needsImages.skip || needsUserNamespaces.skip };
const noReplace = !(kernel.moveMountBeneath && kernel.lowerdirPlus) && 'replace needs MOVE_MOUNT_BENEATH and lowerdir+ (6.8+)';
const noTestAddon = !fs.existsSync(testAddonPath) && `${testAddonPath} is not built (npm run build:cmake)`;

/** What shows an image superblock now: erofs's and ext4's own entries. */
function imageTraces(): { erofs: Set<string>; ext4: Set<string> } {
  return { erofs: erofsSuperblocks(), ext4: new Set(fs.existsSync('/proc/fs/ext4') ? fs.readdirSync('/proc/fs/ext4') : []) };
}

/** Loop devices bound to any of `images` now (asked while mounted, to look for them after). */
function loopsOf(images: string[]): string[] {
  return images.flatMap((image) => loopsBackedBy(image));
}

/**
 * Nothing of `images` is left: no loop device bound to them, no new image
 * superblock, no mount of theirs in a fresh process's table (`loops`: the
 * devices they used), no fd, no child.
 */
function assertNothingLeft(t: Test, images: string[], loops: string[], before: ReturnType<typeof imageTraces>, fds: Map<string, string>, children: string[]): void {
  for (const image of images) t.same(loopsBackedBy(image), [], `no loop device bound to ${image}`);
  const now = imageTraces();
  t.same([...now.erofs].filter((id) => !before.erofs.has(id)), [], 'no erofs superblock left');
  // ext4 names its entry by device: only the loop devices these images used (other tests may mount ext4 meanwhile).
  t.same([...now.ext4].filter((id) => !before.ext4.has(id) && loops.includes(`/dev/${id}`)), [], 'no ext4 superblock left on their loop devices (/proc/fs/ext4)');
  const fresh = execFileSync('cat', ['/proc/self/mountinfo'], { encoding: 'utf8' }).split('\n');
  t.same(
    fresh.filter((l) => loops.some((d) => l.includes(` ${d} `)) || images.some((i) => l.includes(i))),
    [],
    "no image filesystem in a fresh process's mount table",
  );
  t.same(newFds(fds, openFdLinks()), [], 'no fd left open');
  t.same(childPids(), children, 'no child left');
}

/** Runs `run` while reading the mount table in a loop: its result, and every line that appeared meanwhile. */
async function watchMountTable<T>(run: () => Promise<T>): Promise<{ result: T; appeared: string[] }> {
  const before = new Set(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n'));
  const seen = new Set<string>();
  let done = false;
  const watch = (async () => {
    while (!done) {
      for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) if (line && !before.has(line)) seen.add(line);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  try {
    const result = await run();
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) if (line && !before.has(line)) seen.add(line);
    return { result, appeared: [...seen] };
  } finally {
    done = true;
    await watch;
  }
}

/**
 * The lines among `appeared` that are this test's (under its scratch
 * directory, or an image filesystem) but not the overlay on `target`: other
 * helpers' mounts may come and go meanwhile, and are not looked at.
 */
function strayMounts(appeared: string[], s: Scratch, target: string): string[] {
  return appeared.filter((line) => {
    const [pre, post = ''] = line.split(' - ');
    const mountPoint = pre!.split(' ')[4] ?? '';
    const fstype = post.split(' ')[0];
    const ours = line.includes(s.dir) || ['ext4', 'erofs', 'squashfs'].includes(fstype ?? '');
    return ours && !(mountPoint === target && fstype === 'overlay');
  });
}

/** Whether this kernel's `type` takes idmapped mounts (squashfs since 6.2). */
function canIdmap(type: 'erofs' | 'ext4' | 'squashfs'): boolean {
  return type !== 'squashfs' || atLeast(6, 2);
}

for (const type of ['erofs', 'ext4'] as const) {
  t.test(`an idmapped ${type} lower: root's files show as 100000, the image named, nothing else mounted, nothing left`, skip, async (t) => {
    const s = scratch(t);
    const img = makeImages(s);
    const [target] = s.mkdirs('merged');
    const layer = type === 'ext4' ? { image: img.ext4, path: 'sub' } : { image: img.erofs };
    const options: MountOptions = { lower: [layer, img.plain], target: target!, idmap: SHIFT };
    for (const form of ['sync', 'promise'] as const) {
      const before = imageTraces();
      const fds = openFdLinks();
      const children = childPids();
      const { result: m, appeared } = await watchMountTable(async () => (form === 'sync' ? mountSync(options) : await mount(options)));
      t.equal(fs.statSync(`${target}/f`).uid, 100000, `${form}: the image's root-owned file shows as 100000`);
      t.equal(fs.readFileSync(`${target}/f`, 'utf8'), type);
      t.equal(fs.statSync(`${target}/only-plain`).uid, 100000, 'and so does the plain layer beneath');
      t.same(strayMounts(appeared, s, target!), [], `${form}: nothing but the overlay appeared in the mount table, at any moment`);
      t.equal(appeared.filter((l) => l.includes(` ${target} `)).length, 1, 'the overlay did');
      const loops = loopsOf([layer.image]);
      t.same(
        m.images.map((i) => [i.image, i.type, i.loopDevice ?? null]),
        [[layer.image, type, loops[0] ?? null]],
        'the mount says which image it mounted, and through which loop device',
      );
      const [listed] = listMountsSync({ target: target! });
      t.equal(listed?.lower[0], layer.image, 'listMounts names the image file');
      // An idmapped directory has no path to show (the detached tree's '/', or an fd name through the detour): see docs/api.md, 'propagation and idmap'.
      t.match(listed?.lower[1], new RegExp(`^(/|${img.plain}|/proc/self/fd/\\d+)$`), 'and the idmapped directory as mountinfo shows it');
      if (form === 'sync') m.unmountSync();
      else await m.unmount();
      t.same(mountsAt(target!), [], 'unmounted');
      assertNothingLeft(t, [layer.image], loops, before, fds, children);
    }
  });
}

t.test('every mechanism this kernel has, mount(2) ones (all 6.1 has) through the private namespace: idmapped, nothing left', skip, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const mechanisms: MechanismName[] = ['mount', 'mount-fd-path', 'mount-fd-relative', ...(kernel.lowerdirPlus ? (['fsconfig-path'] as const) : []), ...(kernel.layerFd ? (['fsconfig-fd'] as const) : [])];
  for (const mechanism of mechanisms) {
    const before = imageTraces();
    const fds = openFdLinks();
    const children = childPids();
    const m = mountSync({ lower: [{ image: img.erofs }, { image: img.ext4, path: 'sub' }, img.plain], target: target!, idmap: SHIFT, mechanism });
    t.equal(m.mechanism, mechanism);
    t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'erofs', `${mechanism}: the top image wins`);
    t.same(['f', 'only-er', 'only-ex', 'only-plain'].map((name) => fs.statSync(`${target}/${name}`).uid), [100000, 100000, 100000, 100000], `${mechanism}: every layer idmapped`);
    t.same(listMountsSync({ target: target! })[0]?.lower.slice(0, 2), [img.erofs, img.ext4], 'listMounts names both images');
    const loops = loopsOf([img.erofs, img.ext4]);
    m.unmountSync();
    assertNothingLeft(t, [img.erofs, img.ext4], loops, before, fds, children);
  }
});

t.test('squashfs: idmapped where the kernel lets it (6.2+), else refused naming the layer, the filesystem and the version', skip, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const options: MountOptions = { lower: [{ image: img.squashfs }, img.plain], target: target!, idmap: SHIFT };
  const before = imageTraces();
  const fds = openFdLinks();
  const children = childPids();
  let loops: string[] = [];
  if (canIdmap('squashfs')) {
    const m = mountSync(options);
    t.equal(fs.statSync(`${target}/f`).uid, 100000);
    loops = loopsOf([img.squashfs]);
    m.unmountSync();
  } else {
    const expected = { code: 'EINVAL', syscall: 'mount_setattr', field: 'lower[0]', path: img.squashfs, reason: /squashfs .*Linux 6\.2/ };
    t.throws(() => mountSync(options), expected);
    await t.rejects(mount(options), expected);
  }
  t.same(mountsAt(target!), []);
  assertNothingLeft(t, [img.squashfs], loops, before, fds, children);
});

t.test('two idmapped lowers and a data layer from one image: the image mounted once, both lowers idmapped', { skip: skip.skip || (!kernel.lowerdirPlus && 'data layers need lowerdir+ here') }, async (t) => {
  const s = scratch(t);
  s.write({ 'src/a/f': 'a', 'src/b/g': 'b', 'src/d/x': 'data' });
  const image = makeExt4(s.path('two.img'), s.path('src'));
  const [target] = s.mkdirs('merged');
  const before = imageTraces();
  const fds = openFdLinks();
  const children = childPids();
  // metacopy: 6.12's overlay takes data-only layers only with it ("lower data-only dirs require metacopy support").
  const m = mountSync({ lower: [{ image, path: 'a' }, { image, path: 'b' }], data: [{ image, path: 'd' }], target: target!, idmap: SHIFT, metacopy: true });
  t.equal(m.images.length, 1, 'one image mount');
  t.equal(fs.statSync(`${target}/f`).uid, 100000);
  t.equal(fs.statSync(`${target}/g`).uid, 100000);
  const loops = loopsOf([image]);
  m.unmountSync();
  assertNothingLeft(t, [image], loops, before, fds, children);
});

t.test('replace between two idmapped image stacks, and back: each stack freed once replaced', skip, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const a: MountOptions = { lower: [{ image: img.erofs }, img.plain], target: target!, idmap: SHIFT };
  const b = { lower: [{ image: img.ext4, path: 'sub' }, img.plain], idmap: { uidMap: [[0, 200000, 65536] as const] } };
  const before = imageTraces();
  const fds = openFdLinks();
  const children = childPids();
  const first = mountSync(a);
  const loops = loopsOf([img.erofs]);
  if (noReplace) {
    t.throws(() => replaceSync(target!, b), { code: 'ENOSYS', message: /MOVE_MOUNT_BENEATH/ }, 'refused where replace itself is');
    t.same(loopsBackedBy(img.ext4), [], 'the new stack was never made');
    t.equal(fs.statSync(`${target}/f`).uid, 100000, 'the old stack is untouched');
    first.unmountSync();
    assertNothingLeft(t, [img.erofs, img.ext4], loops, before, fds, children);
    return;
  }
  const second = replaceSync(target!, b);
  loops.push(...loopsOf([img.ext4]));
  t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'ext4');
  t.equal(fs.statSync(`${target}/f`).uid, 200000, 'the new stack is idmapped with its own map');
  t.same(loopsBackedBy(img.erofs), [], 'the old erofs stack is freed');
  t.same(mountsAt(target!).length, 1, 'one overlay on the target');
  const third = await replace(target!, { lower: a.lower, idmap: SHIFT });
  t.equal(fs.statSync(`${target}/f`).uid, 100000);
  t.equal(fs.readFileSync(`${target}/f`, 'utf8'), 'erofs');
  t.same(loopsBackedBy(img.ext4), [], 'the ext4 stack is freed, its loop device unbound');
  t.not(second.mountId, third.mountId);
  loops.push(...loopsOf([img.erofs]));
  third.unmountSync();
  assertNothingLeft(t, [img.erofs, img.ext4], loops, before, fds, children);
});

// The namespace detour on this kernel too: the test addon makes the first
// open_tree of an image layer fail as 6.12's does (EINVAL), so the layer is
// idmapped where its image is attached; then each later step fails in turn.
const detour = { skip: skip.skip || noTestAddon };

function mountThroughTestAddon(options: MountOptions): unknown {
  return testAddon().mountOverlaySync(...pack(toNativeRequest(options)));
}

t.afterEach(() => {
  if (!noTestAddon) testAddon().takeArmedFaults();
});

t.test('the detour (open_tree refusing a detached image, as before 6.15): idmapped in the private namespace', detour, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const before = imageTraces();
  const fds = openFdLinks();
  const children = childPids();
  const loops: string[] = [];
  for (const layer of [{ image: img.erofs }, { image: img.ext4, path: 'sub' }]) {
    testAddon().injectFault('idmap.open_tree', EINVAL);
    const { appeared } = await watchMountTable(async () => mountThroughTestAddon({ lower: [layer, img.plain], target: target!, idmap: SHIFT }));
    t.same(testAddon().takeArmedFaults(), [], 'the failure point was reached');
    t.equal(fs.statSync(`${target}/f`).uid, 100000, `${layer.image}: idmapped through the namespace`);
    t.equal(fs.statSync(`${target}/only-plain`).uid, 100000);
    t.same(strayMounts(appeared, s, target!), [], 'nothing but the overlay appeared');
    loops.push(...loopsOf([layer.image]));
    umountSync(target!);
  }
  assertNothingLeft(t, [img.erofs, img.ext4], loops, before, fds, children);
});

t.test('the detour failing at each step: the layer named, nothing left', detour, async (t) => {
  const s = scratch(t);
  const img = makeImages(s);
  const [target] = s.mkdirs('merged');
  const options: MountOptions = { lower: [{ image: img.ext4, path: 'sub' }, { image: img.erofs }, img.plain], target: target!, idmap: SHIFT };
  const steps: Array<[string, { code: string; syscall: string; field: string }]> = [
    ['idmap-attached.open_tree', { code: 'EIO', syscall: 'open_tree', field: 'lower[0]' }],
    ['idmap-attached.mount_setattr', { code: 'EIO', syscall: 'mount_setattr', field: 'lower[0]' }],
    ['idmap-attached.move_mount', { code: 'EIO', syscall: 'move_mount', field: 'lower[0]' }],
  ];
  // The best mechanism here, and mount(2), whose detour (all 6.1 has) is built the same way.
  for (const mechanism of [undefined, 'mount'] as const) {
    for (const [point, expected] of steps) {
      const before = imageTraces();
      const fds = openFdLinks();
      const children = childPids();
      testAddon().injectFault('idmap.open_tree', EINVAL);
      testAddon().injectFault(point, EIO);
      t.throws(() => mountThroughTestAddon({ ...options, mechanism }), expected, `${point} (${mechanism ?? 'auto'})`);
      t.same(testAddon().takeArmedFaults(), [], `${point}: both failure points were reached`);
      t.same(mountsAt(target!), [], `${point}: nothing mounted`);
      assertNothingLeft(t, [img.ext4, img.erofs], [], before, fds, children);
    }
  }
  // Where the clone is made while the image is detached (6.15+), failing there leaves nothing either.
  const before = imageTraces();
  const fds = openFdLinks();
  testAddon().injectFault('idmap.mount_setattr', EIO);
  // (the plain layer first: before 6.15 it is the first to reach that step)
  const plainFirst = { ...options, lower: [img.plain, { image: img.ext4, path: 'sub' }, { image: img.erofs }] };
  t.throws(() => mountThroughTestAddon(plainFirst), { code: 'EIO', syscall: 'mount_setattr', field: 'lower[0]' }, 'idmap.mount_setattr');
  t.same(testAddon().takeArmedFaults(), [], 'idmap.mount_setattr was reached');
  assertNothingLeft(t, [img.ext4, img.erofs], [], before, fds, childPids());
  // The filesystem refusing the idmap there: EINVAL names the image's filesystem.
  testAddon().injectFault('idmap.open_tree', EINVAL);
  testAddon().injectFault('idmap-attached.mount_setattr', EINVAL);
  t.throws(() => mountThroughTestAddon(options), { code: 'EINVAL', field: 'lower[0]', reason: /ext4 filesystem of the image .* cannot be idmapped/ });
  t.same(loopsBackedBy(img.ext4), []);
});
