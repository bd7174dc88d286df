// unpack against a real peer: an image podman made (a root, then a layer
// committed from a container that deletes a directory, replaces a file,
// adds a hard link and a setuid file), saved by podman in each format and
// unpacked, and pushed by podman with zstd layers into an oci-archive and an
// oci-dir (`podman push --compression-format zstd`, which names no image:
// stored as sha256:<manifest digest>); its layers mounted as an overlay list
// exactly as `podman image mount` of the same image, entry for entry. Needs
// podman as root (import, create, mount, commit, save, push: no `podman run`).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { mount, unpack } from '../../lib/index';
import { scratch } from '../helpers/scratch';
import { listing } from './builders/tree-listing';
import { podmanChangedImage, whyNoPodman } from './builders/podman-image';

const podman = (...args: string[]) => execFileSync('podman', args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).trim();

t.test('images podman saves, unpacked and mounted, list as podman image mount', { skip: whyNoPodman() ?? false, timeout: 600_000 }, async (t) => {
  const s = scratch(t);
  const tag = `localhost/overlay-native-unpack:${process.pid}`;
  t.teardown(() => void spawnSync('podman', ['rmi', '-f', tag, `${tag}-base`]));
  podmanChangedImage(podman, s, tag);
  const theirs = listing(podman('image', 'mount', tag));
  t.teardown(() => void spawnSync('podman', ['image', 'umount', tag]));
  t.ok(theirs.some((r) => r.startsWith('usr/bin/su 4755')) && !theirs.some((r) => r.startsWith('etc/ssl')), 'the committed layer is in the image');

  for (const format of ['docker-archive', 'oci-archive', 'oci-dir', 'zstd oci-archive', 'zstd oci-dir']) {
    const out = s.path(`img.${format.replace(' ', '-')}`);
    const zstd = format.startsWith('zstd ');
    if (zstd) podman('push', '--compression-format', 'zstd', tag, `${format.slice(5) === 'oci-dir' ? 'oci' : 'oci-archive'}:${out}`);
    else podman('save', '--format', format, '-o', out, tag);
    // The archives from a pipe, the layout from its directory.
    const source = format.endsWith('oci-dir') ? out : spawn('cat', [out], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout;
    const result = await unpack(source, { store: s.path(`store-${format.replace(' ', '-')}`) });
    if (zstd) {
      t.match(result.refs, [/^sha256:[0-9a-f]{64}$/], `${format}: an image the archive does not name is stored by its manifest digest`);
      const manifest = JSON.parse(fs.readFileSync(s.path(`store-${format.replace(' ', '-')}/blobs/sha256/${result.refs[0].slice(7)}`), 'utf8'));
      t.same(manifest.layers.map((l: { mediaType: string }) => l.mediaType), Array(2).fill('application/vnd.oci.image.layer.v1.tar+zstd'), `${format}: podman wrote zstd layers`);
    } else t.same(result.refs, [tag], `${format}: stored under its name`);
    t.equal(result.layers.length, 2);
    const target = s.mkdirs(`mnt-${format}`)[0];
    const m = await mount({ lower: result.layers.map((l) => l.path).reverse(), target });
    try {
      t.same(listing(target), theirs, `${format}: lists as podman image mount`);
    } finally {
      await m.unmount();
    }
  }
});
