// Atomic replacement of a running overlay: the new stack goes beneath the
// old one and the old one is then detached, so no lookup through the target
// ever finds it empty.
import { OverlayMount, type ReplaceOptions } from './overlay-mount';
import { replaceWalk } from '../live/replace-stack';
import { runAsync, runSync } from '../core/sync-or-async';

export type { ReplaceOptions } from './overlay-mount';

/**
 * Replaces the overlay mounted on `target` with a new one (Linux 6.5+,
 * MOVE_MOUNT_BENEATH; the new mount API with `lowerdir+`, 6.8+). Processes
 * holding files open keep the old stack until they close them. On failure
 * the old overlay stays mounted and nothing else is left. The new mount keeps
 * the old one's propagation unless `propagation` is given; an upper or work
 * the old stack uses is refused (see replace-live-stack.ts).
 */
export async function replace(target: string, options: ReplaceOptions): Promise<OverlayMount> {
  return new OverlayMount(...(await runAsync(replaceWalk(target, options))));
}

/** Synchronous twin of {@link replace}. */
export function replaceSync(target: string, options: ReplaceOptions): OverlayMount {
  return new OverlayMount(...runSync(replaceWalk(target, options)));
}
