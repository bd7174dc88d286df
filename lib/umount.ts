import { checkBoolean, checkKnownKeys, checkOptionsObject, checkPath } from './args';
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

/** Unmounts `target` (umount2). Rejects with an OverlayError: EINVAL if nothing is mounted there, EBUSY if busy. */
export async function umount(target: string, options?: UmountOptions): Promise<void> {
  await native.umountOverlay(checkPath('target', target), umountFlags(options));
}

/** Synchronous twin of {@link umount}. */
export function umountSync(target: string, options?: UmountOptions): void {
  native.umountOverlaySync(checkPath('target', target), umountFlags(options));
}
