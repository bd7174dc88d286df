// A small Debian root filesystem, made from this Debian machine's own
// installed packages (dpkg -L): the files of base-files, bash, dash,
// coreutils and the libraries they load, laid out with the merged /usr
// symlinks Debian 12 has. Enough to run a shell session in it; small enough
// that making an image of it takes a moment.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT_NAMES = ['base-files', 'bash', 'dash', 'coreutils', 'libc6', 'libtinfo6', 'libselinux1', 'libpcre2-8-0', 'libacl1', 'libattr1', 'libgmp10', 'libcap2'];

// Named with this machine's architecture: where a foreign one is installed
// too (libc6:arm64 beside libc6:amd64, for cross-building), a bare name is
// ambiguous to dpkg and refused.
function rootPackages(): string[] {
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  return ROOT_NAMES.map((name) => `${name}:${arch}`);
}

/** Why the tree cannot be made here (no dpkg, or a package missing), or undefined. */
export function whyNoDebianRoot(): string | undefined {
  try {
    execFileSync('dpkg-query', ['-W', ...rootPackages()], { stdio: 'ignore' });
  } catch {
    return `not a Debian system with ${ROOT_NAMES.join(', ')} installed`;
  }
  return undefined;
}

/** Files and symlinks (not directories) the packages installed that exist here. */
function packageFiles(): string[] {
  const listed = execFileSync('dpkg', ['-L', ...rootPackages()], { encoding: 'utf8' }).split('\n');
  const files = new Set<string>();
  for (const file of listed) {
    if (!file.startsWith('/')) continue;
    try {
      if (!fs.lstatSync(file).isDirectory()) files.add(file.slice(1));
    } catch {
      // listed but not there (a diverted or removed file)
    }
  }
  return [...files];
}

/** Builds the tree at `dest` (which must not exist). */
export function makeDebianRoot(dest: string): string {
  fs.mkdirSync(dest);
  for (const dir of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'etc', 'root', 'tmp', 'proc', 'dev', 'var']) fs.mkdirSync(path.join(dest, dir), { recursive: true });
  for (const link of ['bin', 'sbin', 'lib', 'lib64']) fs.symlinkSync(`usr/${link}`, path.join(dest, link));
  const list = path.join(dest, '..', `${path.basename(dest)}.files`);
  fs.writeFileSync(list, packageFiles().join('\n') + '\n');
  // tar keeps the merged-/usr symlinks made above rather than replacing them with directories.
  execFileSync('sh', ['-c', 'tar -C / --no-recursion -cf - -T "$1" | tar -C "$2" --keep-directory-symlink -xf -', 'sh', list, dest]);
  fs.rmSync(list);
  fs.writeFileSync(path.join(dest, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  fs.writeFileSync(path.join(dest, 'etc/group'), 'root:x:0:\n');
  return dest;
}
