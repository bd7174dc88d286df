import fs from 'node:fs';
import path from 'node:path';
import { checkBoolean, checkKnownKeys, checkOptionsObject, checkPath } from '../core/args';
import { invalid } from '../core/errors';
import { recordDir } from '../images/image-record';
import { dropIfGone, dropIfGoneSync } from '../images/image-record-live';
import { native } from '../core/native';

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

// The bits native/live/umount_entry.cc reads (one number costs less to pass
// than an object), as the addon exports them: it owns them.
const FLAG_BITS = native.umountFlagBits;
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
  // The kernel's rule (do_umount): a bare EINVAL from umount2 reads as "not mounted".
  if (bits & FLAG_BITS.expire && bits & (FLAG_BITS.detach | FLAG_BITS.force)) {
    throw invalid('expire', `cannot be combined with ${bits & FLAG_BITS.detach ? 'detach' : 'force'}: the kernel refuses MNT_EXPIRE with MNT_DETACH or MNT_FORCE`);
  }
  return bits;
}

// The record of an image stack (lib/images/image-record.ts) unmounted by path goes
// with it, as when its OverlayMount unmounts it; else a listing or a later
// image mount would find it stale. Named from what is on top now, and judged
// after the unmount as a listing judges it: removed only if that overlay is
// gone, whatever the unmount took.
function recordOnTop(target: string): string | undefined {
  try {
    const name = native.mountAt(target, true)[3];
    return fs.existsSync(path.join(recordDir(), name)) ? name : undefined;
  } catch {
    return undefined; // nothing to look at there: the unmount says why
  }
}

// Best effort, after the unmount succeeded: a record that cannot be judged now is left to a listing.
function dropRecordSync(name: string | undefined): void {
  if (name === undefined) return;
  try {
    dropIfGoneSync(name);
  } catch {
    // a listing judges it
  }
}

// Any look at the mount (the statx of recordOnTop) is a use that clears an
// MNT_EXPIRE mark, so a second expire would never unmount: with expire the
// record is not looked up, and a listing drops it once the overlay is gone.
function recordFor(target: string, flags: number): string | undefined {
  return flags & FLAG_BITS.expire ? undefined : recordOnTop(target);
}

/** Unmounts `target` (umount2). Rejects with an OverlayError: EINVAL if nothing is mounted there, EBUSY if busy, EAGAIN when `expire` only marked it. */
export async function umount(target: string, options?: UmountOptions): Promise<void> {
  const checked = checkPath('target', target);
  const flags = umountFlags(options);
  const record = recordFor(checked, flags);
  await native.umountOverlay(checked, flags);
  if (record !== undefined) await dropIfGone(record).catch(() => undefined); // best effort, as in umountSync
}

/** Synchronous twin of {@link umount}. */
export function umountSync(target: string, options?: UmountOptions): void {
  const checked = checkPath('target', target);
  const flags = umountFlags(options);
  const record = recordFor(checked, flags);
  native.umountOverlaySync(checked, flags);
  dropRecordSync(record);
}
