// The hot calls, packed for the addon. Each named property read through
// N-API makes and looks up a key string; the fourteen a mount request had
// cost more user time than the rest of a mount. So mount and replace pass
// positional arguments, in native/core/mount_args.h's order, and get back a
// [mechanism, mountId, warnings] tuple (umount's flags go as bits: lib/umount.ts).
// A mount or replace with images also takes what the addon needs to write
// their record in the same call (lib/image-record-write.ts).
import type { MechanismName } from './mount-options';
import { recordArgument } from './image-record-write';
import { native, type NativeMountRequest, type NativeMountResult, type PackedBuiltOverlay, type PackedMountResult } from './native';

// The addon owns the flag bits (native/core/mount_args.h) and exports them.
const { readOnly: READ_ONLY, nosuid: NOSUID, nodev: NODEV, noexec: NOEXEC } = native.mountFlagBits;

function flagBits(r: NativeMountRequest): number {
  return (r.readOnly ? READ_ONLY : 0) | (r.nosuid ? NOSUID : 0) | (r.nodev ? NODEV : 0) | (r.noexec ? NOEXEC : 0);
}

function flatOptions(options: NativeMountRequest['options']): Array<string | null> {
  const flat: Array<string | null> = [];
  for (const [key, value] of options) flat.push(key, value ?? null);
  return flat;
}

type PackedMountRequest = Parameters<typeof native.mountOverlaySync>;

/** Exported for the tests, which call the test addon with the same arguments. */
export function pack(r: NativeMountRequest): PackedMountRequest {
  return [r.target, r.lower, r.data, r.upper, r.work, flatOptions(r.options), flagBits(r), r.atime, r.propagation, r.idmap, r.mechanism, r.images];
}

/** pack(), and where and what to record of the images: for mount and replace, which keep that record. */
function packRecorded(r: NativeMountRequest): PackedMountRequest {
  const packed = pack(r);
  packed.push(recordArgument(r));
  return packed;
}

function unpack([mechanism, mountId, warnings, uniqueMountId, images, superblock, recordFile, pruneSample]: PackedMountResult): NativeMountResult {
  if (images === undefined) return { mechanism: mechanism as MechanismName, mountId, warnings, uniqueMountId };
  const result: NativeMountResult = { mechanism: mechanism as MechanismName, mountId, warnings, uniqueMountId, images, superblock: superblock ?? '' };
  if (recordFile) {
    result.recordFile = recordFile;
    result.pruneSample = pruneSample ?? [];
  }
  return result;
}

export async function mountOverlay(r: NativeMountRequest): Promise<NativeMountResult> {
  return unpack(await native.mountOverlay(...packRecorded(r)));
}

export function mountOverlaySync(r: NativeMountRequest): NativeMountResult {
  return unpack(native.mountOverlaySync(...packRecorded(r)));
}

export async function replaceOverlay(r: NativeMountRequest): Promise<NativeMountResult> {
  return unpack(await native.replaceOverlay(...packRecorded(r)));
}

export function replaceOverlaySync(r: NativeMountRequest): NativeMountResult {
  return unpack(native.replaceOverlaySync(...packRecorded(r)));
}

/** A detached overlay built for `apply`: its fd belongs to the caller, who must close it. */
export interface BuiltOverlay extends NativeMountResult {
  fd: number;
}

function unpackBuilt([fd, mechanism, mountId, uniqueMountId, warnings]: PackedBuiltOverlay): BuiltOverlay {
  return { fd, mechanism: mechanism as MechanismName, mountId, uniqueMountId, warnings };
}

export async function buildOverlay(r: NativeMountRequest): Promise<BuiltOverlay> {
  return unpackBuilt(await native.buildOverlay(...pack(r)));
}

export function buildOverlaySync(r: NativeMountRequest): BuiltOverlay {
  return unpackBuilt(native.buildOverlaySync(...pack(r)));
}
