// commit and save against a real peer: a stack committed by commit() and
// written by save() in each format (and with a zstd layer, kept as it is in
// the oci-archive) is loaded by `podman load` under its name, and `podman image mount` of it lists exactly as the stack it was
// committed from, entry for entry. podman gets its own store (--root,
// --runroot) in the test's scratch directory; the image is unmounted and
// removed after. Needs podman as root (load and image mount; no podman run).
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { commit, save } from '../../lib/index';
import { mountedChangedStack } from './builders/committed-stack';
import { scratch } from '../helpers/scratch';
import { listing } from './builders/tree-listing';
import { whyNoPodman } from './builders/podman-image';

t.test('podman load takes what save writes, and podman image mount lists it as the committed stack', { skip: whyNoPodman() ?? false, timeout: 300_000 }, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  const own = ['--root', s.path('podman-root'), '--runroot', s.path('podman-run'), '--storage-driver', 'vfs'];
  const podman = (...args: string[]) => execFileSync('podman', [...own, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const target = await mountedChangedStack(t, s, store);
  const stack = listing(target);
  const ref = `localhost/overlay-native-commit:${process.pid}`;
  await commit(target, { store, ref });
  const zstdRef = `${ref}-zstd`;
  await commit(target, { store, ref: zstdRef, compression: 'zstd' });
  for (const [format, name] of [['oci-archive', ref], ['docker-archive', ref], ['oci-archive', zstdRef], ['docker-archive', zstdRef]] as const) {
    const what = `${format}, ${name === ref ? 'gzip' : 'zstd'} layer`;
    const out = s.path(`img.${format}.${name === ref ? 'gzip' : 'zstd'}`);
    await save(store, name, out, { format });
    const loaded = podman('load', '-i', out);
    t.match(loaded, `Loaded image: ${name}`, `${what}: loaded under its name`);
    const merged = podman('image', 'mount', name);
    try {
      t.same(listing(merged), stack, `${what}: podman image mount lists as the committed stack`);
    } finally {
      podman('image', 'umount', name);
      podman('rmi', '-f', name);
    }
  }
  t.same(podman('images', '-q'), '', "podman's store is left empty");
});
