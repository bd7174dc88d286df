// Filesystems made by a test (tmpfs, ramfs, ext4 images on loop devices) and
// the loop devices behind them. The scratch teardown unmounts what is under
// a scratch directory; `mount -o loop` sets autoclear, so unmounting frees
// the loop device.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Scratch } from './scratch';
import { holdSuperblockLock } from './superblock-lock';

export function mountTmpfs(s: Scratch, name: string, type: 'tmpfs' | 'ramfs' = 'tmpfs'): string {
  const [dir] = s.mkdirs(name);
  execFileSync('mount', ['-t', type, '-o', type === 'tmpfs' ? 'size=16m' : 'mode=755', type, dir]);
  return dir;
}

/** An ext4 image without the filetype feature (readdir gives DT_UNKNOWN), loop-mounted. */
export function mountExt4WithoutFiletype(s: Scratch, name: string): string {
  holdSuperblockLock();
  const image = s.path(`${name}.img`);
  fs.writeFileSync(image, '');
  fs.truncateSync(image, 32 * 1024 * 1024);
  execFileSync('mkfs.ext4', ['-q', '-F', '-O', '^filetype', image]);
  const [dir] = s.mkdirs(name);
  execFileSync('mount', ['-o', 'loop', image, dir]);
  return dir;
}

/** Every entry beneath dir with its type, size, content and xattrs, to compare before and after. */
export function snapshot(dir: string): string {
  const script = [
    'import os, sys, json',
    'out = {}',
    'for root, dirs, files in os.walk(sys.argv[1]):',
    '  for n in sorted(dirs + files) + ["."]:',
    '    p = os.path.join(root, n)',
    '    st = os.lstat(p)',
    '    xs = {x: os.getxattr(p, x, follow_symlinks=False).hex() for x in sorted(os.listxattr(p, follow_symlinks=False))}',
    '    data = open(p, "rb").read().hex() if os.path.isfile(p) and not os.path.islink(p) else ""',
    '    out[os.path.relpath(p, sys.argv[1])] = [st.st_mode, st.st_size, st.st_rdev, data, xs]',
    'print(json.dumps(out, sort_keys=True))',
  ].join('\n');
  return execFileSync('python3', ['-c', script, dir], { encoding: 'utf8' });
}

export function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import os; os.listxattr'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why loop-mounted ext4 cannot be made here, or undefined when it can. */
export function whyNoLoopExt4(): string | undefined {
  for (const tool of ['mkfs.ext4', 'losetup', 'truncate']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  if (!fs.existsSync('/dev/loop-control')) return 'no /dev/loop-control';
  return undefined;
}

/** Makes an ext4 image of `megabytes` and mounts it on `dir`. */
export function mountExt4Image(image: string, dir: string, megabytes = 16): void {
  holdSuperblockLock();
  execFileSync('truncate', ['-s', `${megabytes}M`, image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-o', 'loop', image, dir]);
}

/** The loop devices backed by `image` (`losetup -j`), empty once it is unmounted. */
export function loopDevicesOf(image: string): string[] {
  const out = execFileSync('losetup', ['-j', image], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => l.split(':')[0] as string);
}

/** `losetup -f --show [-r] image`: a device bound as losetup binds it (no autoclear), detached again in teardown. */
export function losetupBind(t: { teardown(fn: () => void): void }, image: string, readOnly = false): string {
  holdSuperblockLock();
  const device = execFileSync('losetup', ['-f', '--show', ...(readOnly ? ['-r'] : []), image], { encoding: 'utf8' }).trim();
  t.teardown(() => {
    try {
      execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
    } catch {
      // detached already
    }
  });
  return device;
}

/** `mount -o loop image dir` (mount(8) binds an auto-clearing device); the scratch teardown unmounts it, and so frees the device, if the test did not. */
export function mountLoop(image: string, dir: string, readOnly = false): string {
  holdSuperblockLock();
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-o', readOnly ? 'loop,ro' : 'loop', image, dir]);
  const source = execFileSync('findmnt', ['-n', '-o', 'SOURCE', '--mountpoint', dir], { encoding: 'utf8' }).trim();
  return source;
}
