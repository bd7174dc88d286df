// The round trip against a real peer: `podman save IMG | ovl unpack -`, then
// `ovl save STORE:IMG - | podman load`, gives back the image podman had,
// by its image ID (the config's digest), in each format podman saves and
// from a zstd push. The image: a root podman imported, then a layer
// committed from a container that deletes a directory, replaces a file and
// adds a hard link and a setuid file. podman gets its own store (--root,
// --runroot) in the test's scratch directory. Needs podman as root (import,
// create, mount, commit, save, load; no podman run).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import t from 'tap';
import { unpack } from '../../lib/index';
import { OVL } from '../helpers/cli';
import { nodeCommand } from '../helpers/child-env';
import { scratch } from '../helpers/scratch';
import { podmanChangedImage, whyNoPodman } from './builders/podman-image';

t.test('podman save | ovl unpack, ovl save | podman load: the same image ID', { skip: whyNoPodman() ?? false, timeout: 600_000 }, async (t) => {
  const s = scratch(t);
  const own = ['--root', s.path('podman-root'), '--runroot', s.path('podman-run'), '--storage-driver', 'vfs'];
  const podman = (...args: string[]) => execFileSync('podman', [...own, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  t.teardown(() => void spawnSync('podman', [...own, 'rmi', '-af']));
  const tag = `localhost/overlay-native-roundtrip:${process.pid}`;
  podmanChangedImage(podman, s, tag);
  podman('rmi', `${tag}-base`);
  const imageId = podman('images', '--no-trunc', '--format', '{{.ID}}', tag);
  t.match(imageId, /^sha256:[0-9a-f]{64}$/);

  for (const format of ['docker-archive', 'oci-archive', 'zstd oci-archive']) {
    const store = s.path(`store-${format.replace(' ', '-')}`);
    const archive = s.path(`in-${format.replace(' ', '-')}.tar`);
    let ref = tag;
    if (format.startsWith('zstd')) podman('push', '--compression-format', 'zstd', tag, `oci-archive:${archive}`);
    else podman('save', '--format', format, '-o', archive, tag);
    const result = await unpack(spawn('cat', [archive], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout, { store });
    if (format.startsWith('zstd')) ref = result.refs[0];
    else t.same(result.refs, [tag], `${format}: unpacked under its name`);
    for (const out of ['docker-archive', 'oci-archive']) {
      podman('rmi', '-af');
      const saved = spawnSync(...nodeCommand([OVL, 'save', '--format', out, `${store}:${ref}`, '-']), { maxBuffer: 256 << 20 });
      t.equal(saved.status, 0, String(saved.stderr));
      const loaded = spawnSync('podman', [...own, 'load'], { input: saved.stdout, encoding: 'utf8' });
      t.equal(loaded.status, 0, `podman load took it: ${loaded.stderr.slice(-300)}`);
      t.equal(podman('images', '--no-trunc', '--format', '{{.ID}}'), imageId, `${format} unpacked, saved as ${out}, loaded by podman: the image ID podman had`);
    }
  }
});
