// `ovl umount` is for overlays: a TARGET with some other filesystem on top is
// refused before umount2 unless --any-type asks for it, as remount and
// replace refuse a mount that is not an overlay.
import fs from 'node:fs';
import path from 'node:path';
import { OverlayError } from '../../lib/index';
import { mountsOn } from '../../lib/internal';

/** statfs f_type of an overlay (OVERLAYFS_SUPER_MAGIC, include/uapi/linux/magic.h). */
const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
const EINVAL = 22;

/**
 * Throws when what path resolution finds on `target` (the topmost mount) is
 * a mount point of another filesystem. Nothing mounted there, or a path that
 * does not resolve, is left to umount2, whose answer (EINVAL, ENOENT) is the
 * kernel's. With `expire`, only mountinfo is read, at TARGET as given (a
 * symlink on the way is not followed there). The check and the umount2 are two steps: a mount made on TARGET
 * in between by someone else is not seen.
 */
export function refuseNonOverlay(target: string, expire = false): void {
  let real: string;
  let type: number | undefined;
  try {
    // A path walk into the mount is a use that clears an MNT_EXPIRE mark:
    // for --expire, mountinfo alone, at the path as given (made absolute).
    real = expire ? path.resolve(target) : fs.realpathSync(target);
    type = expire ? undefined : Number(fs.statfsSync(real).type);
  } catch {
    return;
  }
  if (type === OVERLAYFS_SUPER_MAGIC) return;
  const here = mountsOn(real);
  if (here.length === 0) return;
  // The top one: no other mount there sits on it (mountinfo's order says nothing once one went beneath).
  const top = here.find((m) => !here.some((other) => other.parentId === m.mountId)) ?? here.at(-1);
  const fstype = top?.fstype ?? 'another filesystem';
  if (fstype === 'overlay') return;
  throw new OverlayError({
    errno: EINVAL,
    field: 'target',
    path: path.resolve(target),
    reason: `'${real}' has a ${fstype} mounted on it, not an overlay; 'ovl umount --any-type' unmounts it anyway`,
  });
}
