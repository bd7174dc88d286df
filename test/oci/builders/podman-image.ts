// podman as a peer: whether it can run here, and the image the podman tests
// share: a root podman imported, then a layer committed from a container
// that deletes a directory, replaces a file, adds a hard link and a setuid
// file (podman create, mount, commit: no podman run).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Scratch } from '../../helpers/scratch';

/** Why the podman tests cannot run here, or undefined when they can. */
export function whyNoPodman(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for podman mount';
  if (spawnSync('podman', ['--version']).status !== 0) return 'podman is not installed (apt-get install podman)';
  return undefined;
}

/** Makes image `tag` (and `${tag}-base`, its root alone) through `podman`, which runs podman with the test's arguments. */
export function podmanChangedImage(podman: (...args: string[]) => string, s: Scratch, tag: string): void {
  s.write({ 'root/etc/issue': 'one', 'root/etc/ssl/certs/a': 'a', 'root/usr/bin/tool': 'tool', 'root/var/lib/x': 'x'.repeat(70_000) });
  fs.symlinkSync('tool', s.path('root/usr/bin/alias'));
  fs.chownSync(s.path('root/var/lib'), 1000, 1001);
  execFileSync('tar', ['-C', s.path('root'), '-cf', s.path('root.tar'), '.']);
  podman('import', s.path('root.tar'), `${tag}-base`);
  const id = podman('create', `${tag}-base`, '/bin/sh');
  const merged = podman('mount', id);
  fs.rmSync(`${merged}/etc/ssl`, { recursive: true });
  fs.writeFileSync(`${merged}/etc/issue`, 'two');
  fs.linkSync(`${merged}/usr/bin/tool`, `${merged}/usr/bin/tool2`);
  fs.writeFileSync(`${merged}/usr/bin/su`, 'su');
  fs.chmodSync(`${merged}/usr/bin/su`, 0o4755);
  podman('umount', id);
  podman('commit', id, tag);
  podman('rm', '-f', id);
}
