// Filesystems made by a test under its scratch directory: the scratch
// teardown unmounts them (a `-o loop` mount frees its loop device on umount).
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
