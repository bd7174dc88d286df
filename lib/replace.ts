// Atomic replacement of a running overlay: the new stack goes beneath the
// old one and the old one is then detached, so no lookup through the target
// ever finds it empty.
import { mounted, type OverlayMount } from './mount';
import { writeRecord, writeRecordSync } from './image-record';
import type { MountOptions } from './mount-options';
import { replaceOverlay, replaceOverlaySync } from './native-mount';
import { toNativeRequest } from './validate';

/** The new stack: everything `mount` takes except the target. */
export type ReplaceOptions = Omit<MountOptions, 'target'>;

/**
 * Replaces the overlay mounted on `target` with a new one (Linux 6.5+,
 * MOVE_MOUNT_BENEATH; the new mount API with `lowerdir+`, 6.8+). Processes
 * holding files open keep the old stack until they close them. On failure
 * the old overlay stays mounted and nothing else is left.
 */
export async function replace(target: string, options: ReplaceOptions): Promise<OverlayMount> {
  const request = toNativeRequest(options, target);
  const result = await replaceOverlay(request);
  return mounted(request, result, request.images ? await writeRecord(request, result) : undefined);
}

/** Synchronous twin of {@link replace}. */
export function replaceSync(target: string, options: ReplaceOptions): OverlayMount {
  const request = toNativeRequest(options, target);
  const result = replaceOverlaySync(request);
  return mounted(request, result, request.images ? writeRecordSync(request, result) : undefined);
}
