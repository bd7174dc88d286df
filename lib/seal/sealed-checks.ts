// What is checked of a sealed stack before the kernel sees it, beside the
// image's digest (measured by the addon on the file it mounts, as any image
// layer's `digest`): for verity=on or require, that each store can answer
// the kernel's fs-verity question at all, and that every object each image
// refers to has fs-verity with the digest its file's metacopy xattr holds.
// The kernel asks this only when a file is opened, and then fails the open
// with EIO and nothing to say why: checked here, the mount is refused
// naming the object and the file.
import { getSystemErrorName } from 'node:util';
import { invalid } from '../core/errors';
import { native, type NativeSealedSpec, type SealedUse } from '../core/native';
import { step, type Walk } from '../core/sync-or-async';

const EOPNOTSUPP = 95;
const ENODATA = 61;

// statfs f_type of the filesystems a store is likely on, to name them in a refusal.
const FS_NAMES: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext4'],
  [0x01021994, 'tmpfs'],
  [0x858458f6, 'ramfs'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0xf2f52010, 'f2fs'],
  [0xe0f5e1e2, 'erofs'],
  [0x794c7630, 'overlay'],
  [0x6969, 'nfs'],
]);

function fsName(type: number): string {
  return FS_NAMES.get(type) ?? `filesystem type 0x${type.toString(16)}`;
}

function* storeVerityWalk(field: string, store: string, verity: string): Walk<void> {
  const [fsType, , errnum] = yield* step({ sync: () => native.probeStoreVeritySync(store), async: () => native.probeStoreVerity(store) });
  // ENODATA: the filesystem has fs-verity, the object asked (or the store's directory) has it off; each image's objects are asked next.
  if (errnum === 0 || errnum === ENODATA) return;
  throw invalid(`${field}.store`, `verity=${verity}: the store's filesystem (${fsName(fsType)}) has no fs-verity on this kernel (FS_IOC_MEASURE_VERITY: ${getSystemErrorName(-errnum)})`, EOPNOTSUPP, store);
}

function* imageVerityWalk(layer: NativeSealedSpec, verity: string): Walk<void> {
  const { field, image, store } = layer;
  const wrong = yield* step({ sync: () => native.unverifiedObjectsSync(image, store, field), async: () => native.unverifiedObjects(image, store, field) });
  if (wrong.length === 0) return;
  const [object, file, errnum] = wrong[0]!;
  const why = errnum === ENODATA ? 'has no fs-verity enabled' : errnum === 0 ? "has fs-verity with another digest than the image's" : `cannot be measured (${getSystemErrorName(-errnum)})`;
  const more = wrong.length > 1 ? ` (and ${wrong.length - 1} more)` : '';
  throw invalid(`${field}.store`, `verity=${verity}: object ${object} of ${file} in ${image} ${why}, so the kernel would refuse to open it (EIO)${more}`, EOPNOTSUPP, store);
}

export function* sealedWalk(sealed: SealedUse): Walk<void> {
  const probed = new Set<string>();
  if (sealed.verity === 'off') return;
  for (const layer of sealed.layers) {
    if (probed.has(layer.store)) continue;
    probed.add(layer.store);
    yield* storeVerityWalk(layer.field, layer.store, sealed.verity);
  }
  for (const layer of sealed.layers) yield* imageVerityWalk(layer, sealed.verity);
}
