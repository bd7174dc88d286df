// What is checked of a sealed stack before the kernel sees it, beside the
// image's digest (measured by the addon on the file it mounts, as any image
// layer's `digest`): for verity=on or require, that each store can answer
// the kernel's fs-verity question at all. A sealed image's metacopy xattrs
// carry digests, and with either mode the kernel then fails to open a file
// whose object has no fs-verity (EIO): without this check every file read
// would fail with EIO and nothing to say why.
import { getSystemErrorName } from 'node:util';
import { invalid } from '../core/errors';
import { native, type SealedUse } from '../core/native';
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
  const [fsType, object, errnum] = yield* step({ sync: () => native.probeStoreVeritySync(store), async: () => native.probeStoreVerity(store) });
  if (errnum === 0) return;
  if (errnum === ENODATA && object !== '') {
    throw invalid(`${field}.store`, `verity=${verity}: object ${object} has no fs-verity enabled, so the kernel would refuse to read it (EIO)`, EOPNOTSUPP, store);
  }
  if (errnum === ENODATA) return; // an empty store on a filesystem that has fs-verity
  throw invalid(`${field}.store`, `verity=${verity}: the store's filesystem (${fsName(fsType)}) has no fs-verity on this kernel (FS_IOC_MEASURE_VERITY: ${getSystemErrorName(-errnum)})`, EOPNOTSUPP, store);
}

export function* sealedWalk(sealed: SealedUse): Walk<void> {
  const probed = new Set<string>();
  if (sealed.verity === 'off') return;
  for (const layer of sealed.layers) {
    if (probed.has(layer.store)) continue;
    probed.add(layer.store);
    yield* storeVerityWalk(layer.field, layer.store, sealed.verity);
  }
}
