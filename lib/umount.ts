import { checkPath } from './validate';
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

function toFlags(options?: UmountOptions): number {
  if (options === undefined) return 0;
  if (options === null || typeof options !== 'object') throw new TypeError('umount options must be an object');
  let bits = 0;
  for (const key of ['detach', 'force', 'expire', 'noFollow'] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${key} must be a boolean`);
    if (value) bits |= FLAG_BITS[key];
  }
  return bits;
}

/** Unmounts `target` (umount2). Rejects with an OverlayError: EINVAL if nothing is mounted there, EBUSY if busy. */
export function umount(target: string, options?: UmountOptions): Promise<void> {
  try {
    return native.umountOverlay(checkPath('target', target), toFlags(options));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Synchronous twin of {@link umount}. */
export function umountSync(target: string, options?: UmountOptions): void {
  native.umountOverlaySync(checkPath('target', target), toFlags(options));
}
