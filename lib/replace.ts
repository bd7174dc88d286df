// Atomic replacement of a running overlay: the new stack goes beneath the
// old one and the old one is then detached, so no lookup through the target
// ever finds it empty.
import { explainBusyLayer } from './busy-layers';
import { toReplaceRequest } from './mount-request';
import { replaceOverlay, replaceOverlaySync } from './native-mount';
import { OverlayMount, type ReplaceOptions } from './overlay-mount';

export type { ReplaceOptions } from './overlay-mount';

/**
 * Replaces the overlay mounted on `target` with a new one (Linux 6.5+,
 * MOVE_MOUNT_BENEATH; the new mount API with `lowerdir+`, 6.8+). Processes
 * holding files open keep the old stack until they close them. On failure
 * the old overlay stays mounted and nothing else is left.
 */
export async function replace(target: string, options: ReplaceOptions): Promise<OverlayMount> {
  const request = toReplaceRequest(options, target);
  try {
    return new OverlayMount(request.target, await replaceOverlay(request));
  } catch (err) {
    throw explainBusyLayer(err, request);
  }
}

/** Synchronous twin of {@link replace}. */
export function replaceSync(target: string, options: ReplaceOptions): OverlayMount {
  const request = toReplaceRequest(options, target);
  try {
    return new OverlayMount(request.target, replaceOverlaySync(request));
  } catch (err) {
    throw explainBusyLayer(err, request);
  }
}
