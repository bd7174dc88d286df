// A replace detaches the old stack, and every mount made inside it goes with
// it: a tmpfs at TARGET/run, a bind mount, a nested overlay. The new stack
// would come up without them, and a tmpfs's files are lost once its last user
// lets go. So a stack with mounts inside it is refused, naming them, before
// anything is built; the caller unmounts them first and mounts them again on
// the new stack (apply does so for the stacks it declares).
import { invalid } from '../core/errors';
import { parseMountTableLine } from '../core/mount-table';
import type { OverlayMountInfo } from '../inspect/overlay-mount-info';

const EBUSY = 16;

/** The mounts whose parent is `old` (those at its own target are stacked on it, not inside it). */
function mountsInside(old: OverlayMountInfo, mountinfo: string): Array<{ target: string; fstype: string; mountId: number }> {
  const parent = ` ${old.mountId} `;
  const inside = [];
  for (const line of mountinfo.split('\n')) {
    // Cheap filter first: the parent id is the second field.
    if (!line.includes(parent) || line.split(' ', 2)[1] !== String(old.mountId)) continue;
    const entry = parseMountTableLine(line);
    if (entry && entry.target !== old.target) inside.push({ target: entry.target, fstype: entry.fstype, mountId: entry.mountId });
  }
  return inside;
}

/**
 * Throws EBUSY (field `target`) when mounts lie inside the stack a replace
 * would detach; `handled` holds the targets the caller mounts again itself.
 */
export function refuseMountsInside(old: OverlayMountInfo, mountinfo: string, handled: ReadonlySet<string> = new Set()): void {
  const inside = mountsInside(old, mountinfo).filter((m) => !handled.has(m.target));
  if (inside.length === 0) return;
  const named = inside.map((m) => `'${m.target}' (${m.fstype}, mount id ${m.mountId})`).join(', ');
  throw invalid(
    'target',
    `the overlay on '${old.target}' (mount id ${old.mountId}) has ${inside.length === 1 ? 'a mount' : 'mounts'} inside it: ${named}; ` +
      'replacing the stack would detach them with it: unmount them first, and mount them again on the new stack',
    EBUSY,
    old.target,
  );
}
