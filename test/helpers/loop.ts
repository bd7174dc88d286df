// ext4 filesystems on loop devices, made from image files in a scratch dir.
// `mount -o loop` sets autoclear, so unmounting frees the loop device.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { holdSuperblockLock } from './superblock-lock';

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
