// The one packed form of the mount calls (mount, replace, build), packed
// and unpacked here alone. native/core/mount_args.h documents it once: the
// request as positional arguments in its MountArg order, the result as a
// tuple (PackedMountResult: [mechanism, mountId, warnings, uniqueMountId]
// and, with images, [images, superblock, recordFile, pruneSample]; a build's
// the same four, then its fd). Every other native call takes one object or a few
// scalars. Positional because reading 13 named properties of one request
// object through N-API measured 2.9 us a call against 1.1 us for 13
// positional arguments (node-addon-api, Node 20), while the library's whole
// JavaScript costs 2.4 us a mount+umount (bench/README.md).
// umount's flags go as bits (lib/live/umount.ts). A mount or replace with images
// also says where the addon writes their record (lib/images/image-record-write.ts).
import type { MechanismName } from './mount-options';
import { recordArgument } from '../images/image-record-write';
import { sealedWalk } from '../seal/sealed-checks';
import { runAsync, runSync, step, type Step, type Walk } from '../core/sync-or-async';
import { native, type NativeMountRequest, type NativeMountResult, type PackedBuiltOverlay, type PackedMountResult, type SealedUse } from '../core/native';

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

/**
 * A mount-like native call as one step, for either driver: a sealed
 * layer's store is checked first (lib/seal/sealed-checks.ts; this is the one
 * way into the addon every mount, replace and apply build takes), then the
 * call, its result unpacked and told how sealed layers were used.
 */
function nativeStep<P, R extends { sealed?: SealedUse }>(r: NativeMountRequest, call: Step<P>, unpacked: (packed: P) => R): Step<R> {
  function* walk(): Walk<R> {
    if (r.sealed) yield* sealedWalk(r.sealed);
    const result = unpacked(yield* step(call));
    if (r.sealed) result.sealed = r.sealed;
    return result;
  }
  return { sync: () => runSync(walk()), async: () => runAsync(walk()) };
}

export function mountStep(r: NativeMountRequest): Step<NativeMountResult> {
  return nativeStep(r, { sync: () => native.mountOverlaySync(...packRecorded(r)), async: () => native.mountOverlay(...packRecorded(r)) }, unpack);
}

export function replaceStep(r: NativeMountRequest): Step<NativeMountResult> {
  return nativeStep(r, { sync: () => native.replaceOverlaySync(...packRecorded(r)), async: () => native.replaceOverlay(...packRecorded(r)) }, unpack);
}

/** A detached overlay built for `apply`: its fd belongs to the caller, who must close it. */
export interface BuiltOverlay extends NativeMountResult {
  fd: number;
}

function unpackBuilt([mechanism, mountId, warnings, uniqueMountId, fd]: PackedBuiltOverlay): BuiltOverlay {
  return { fd, mechanism: mechanism as MechanismName, mountId, uniqueMountId, warnings };
}

export function buildStep(r: NativeMountRequest): Step<BuiltOverlay> {
  return nativeStep(r, { sync: () => native.buildOverlaySync(...pack(r)), async: () => native.buildOverlay(...pack(r)) }, unpackBuilt);
}
