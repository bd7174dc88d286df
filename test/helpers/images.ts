// Image files for the image-layer tests, made with the usual tools, and what
// tells whether an image is still in use: its loop devices (by sysfs, the
// devices themselves, not an assumption that no other loop device exists)
// and the filesystems' own sysfs entries.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Scratch } from './scratch';
import { holdSuperblockLock } from './superblock-lock';

/** Why images cannot be made and mounted here, or undefined when they can. */
export function whyNoImages(): string | undefined {
  for (const tool of ['mkfs.ext4', 'mkfs.erofs', 'mksquashfs', 'debugfs']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (apt-get install e2fsprogs erofs-utils squashfs-tools)`;
    }
  }
  if (!fs.existsSync('/dev/loop-control')) return 'no /dev/loop-control';
  const filesystems = fs.readFileSync('/proc/filesystems', 'utf8');
  for (const type of ['ext4', 'erofs', 'squashfs']) {
    if (!new RegExp(`\\t${type}$`, 'm').test(filesystems)) return `the kernel has no ${type} (module not loaded?)`;
  }
  return undefined;
}

export const needsImages = { skip: (process.getuid?.() !== 0 && 'needs root') || whyNoImages() || false };

export function makeSquashfs(src: string, image: string): string {
  holdSuperblockLock();
  execFileSync('mksquashfs', [src, image, '-quiet', '-noappend', '-no-progress'], { stdio: 'ignore' });
  return image;
}

export function makeErofs(src: string, image: string): string {
  holdSuperblockLock();
  execFileSync('mkfs.erofs', [image, src], { stdio: 'ignore' });
  return image;
}

/** An ext4 image of `megabytes`, filled from `src` when given. */
export function makeExt4(image: string, src?: string, megabytes = 16): string {
  holdSuperblockLock();
  execFileSync('mkfs.ext4', ['-q', '-F', ...(src ? ['-d', src] : []), image, `${megabytes}M`], { stdio: 'ignore' });
  return image;
}

/** What a loop device is bound to now ('' when unbound or gone). */
export function loopBacking(device: string): string {
  const name = device.replace(/^\/dev\//, '');
  try {
    return fs.readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** The loop devices bound to `image` now, from sysfs. */
export function loopsBackedBy(image: string): string[] {
  const found: string[] = [];
  for (const name of fs.readdirSync('/sys/block').filter((n) => n.startsWith('loop'))) {
    if (loopBacking(name) === image) found.push(`/dev/${name}`);
  }
  return found;
}

/** The erofs superblocks the kernel has now (/sys/fs/erofs/<id>), to tell which appeared. */
export function erofsSuperblocks(): Set<string> {
  holdSuperblockLock();
  try {
    return new Set(fs.readdirSync('/sys/fs/erofs').filter((n) => n !== 'features'));
  } catch {
    return new Set();
  }
}

/** The files and directories an ext4 image holds at `dir`, read without mounting it (debugfs). */
export function debugfsList(image: string, dir: string): Map<string, string> {
  const out = execFileSync('debugfs', ['-R', `ls -l ${dir}`, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const entries = new Map<string, string>();
  for (const line of out.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 9) continue;
    entries.set(fields.slice(8).join(' '), fields[1] ?? ''); // name -> mode (octal)
  }
  return entries;
}

/** One file's content in an ext4 image, read without mounting it. */
export function debugfsCat(image: string, file: string): string {
  return execFileSync('debugfs', ['-R', `cat ${file}`, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** One image of each type and a plain directory, as the image-layer tests stack them. */
export interface TestImages {
  squashfs: string;
  erofs: string;
  ext4: string;
  plain: string;
}

/**
 * The test images, root-owned: each layer holds `f` (which one wins shows
 * precedence) and a file of its own (`only-sq`, `only-er`, `only-ex`,
 * `only-plain`); the ext4 image keeps its files under sub/, away from its lost+found.
 */
export function makeImages(s: Scratch): TestImages {
  s.write({
    'src/sq/f': 'squashfs',
    'src/sq/only-sq': '',
    'src/er/f': 'erofs',
    'src/er/only-er': '',
    'src/ex/sub/f': 'ext4',
    'src/ex/sub/only-ex': '',
    'plain/f': 'plain',
    'plain/only-plain': '',
  });
  return {
    squashfs: makeSquashfs(s.path('src/sq'), s.path('sq.img')),
    erofs: makeErofs(s.path('src/er'), s.path('er.img')),
    ext4: makeExt4(s.path('ex.img'), s.path('src/ex')),
    plain: s.path('plain'),
  };
}
