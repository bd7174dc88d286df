import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkBoolean, checkKnownKeys, checkOptionsObject, checkPath } from './args';
import { recordDir, removeRecord } from './image-record';
import { native } from './native';

export interface UmountOptions {
  /** MNT_DETACH: detach now, clean up when the mount is no longer busy (`umount -l`). */
  detach?: boolean;
  /** MNT_FORCE: ask the filesystem to abort pending operations (`umount -f`). */
  force?: boolean;
  /** MNT_EXPIRE: mark for expiry; a second call unmounts if unused since. */
  expire?: boolean;
  /** UMOUNT_NOFOLLOW: do not follow a symlink at the target. */
  noFollow?: boolean;
}

// The bits native/umount.cc reads (one number costs less to pass than an object).
const FLAG_BITS = { detach: 1, force: 2, expire: 4, noFollow: 8 } as const;
const UMOUNT_OPTION_KEYS: ReadonlySet<string> = new Set(Object.keys(FLAG_BITS));

/** The options as the addon's flag bits; an unknown key (`lazy`) is refused, not ignored. */
export function umountFlags(options: UmountOptions | undefined, call = 'umount()'): number {
  if (options === undefined) return 0;
  checkOptionsObject('options', options);
  checkKnownKeys(options, UMOUNT_OPTION_KEYS, call);
  let bits = 0;
  for (const key of ['detach', 'force', 'expire', 'noFollow'] as const) {
    if (checkBoolean(key, options[key])) bits |= FLAG_BITS[key];
  }
  return bits;
}

// The record of an image stack (lib/image-record.ts) unmounted by path goes
// with it, as when its OverlayMount unmounts it; else a listing or a later
// image mount would find it stale. Named by the unique id of what is on top
// now, and removed only once that mount is gone: whatever went, a record of a
// mount that is gone is stale.
function recordOnTop(target: string): [file: string, unique: number] | undefined {
  let unique: number;
  try {
    [, unique] = native.mountAt(target, true);
  } catch {
    return undefined; // nothing to look at there: the unmount says why
  }
  const file = unique ? path.join(recordDir(), `${unique}.json`) : undefined;
  return file && fs.existsSync(file) ? [file, unique] : undefined;
}

// Best effort, after the unmount succeeded: a lookup or a removal that fails leaves the record to a listing.
function lookupOrUnknown(lookup: () => number): number {
  try {
    return lookup();
  } catch {
    return -1;
  }
}

function dropIfGone([file]: [string, number], mountId: number): void {
  if (mountId !== 0) return;
  try {
    removeRecord(file);
  } catch {
    // a listing removes it
  }
}

/** Unmounts `target` (umount2). Rejects with an OverlayError: EINVAL if nothing is mounted there, EBUSY if busy. */
export async function umount(target: string, options?: UmountOptions): Promise<void> {
  const checked = checkPath('target', target);
  const flags = umountFlags(options);
  const record = recordOnTop(checked);
  await native.umountOverlay(checked, flags);
  if (record) dropIfGone(record, await native.mountIdOfUnique(record[1]).catch(() => -1));
}

/** Synchronous twin of {@link umount}. */
export function umountSync(target: string, options?: UmountOptions): void {
  const checked = checkPath('target', target);
  const flags = umountFlags(options);
  const record = recordOnTop(checked);
  native.umountOverlaySync(checked, flags);
  if (record) dropIfGone(record, lookupOrUnknown(() => native.mountIdOfUniqueSync(record[1])));
}
