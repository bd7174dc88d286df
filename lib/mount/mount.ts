import { explainBusyLayer } from '../inspect/busy-layers';
import { refuseHeldDirs } from '../inspect/live-writers';
import type { MountOptions } from '../request/mount-options';
import { toNativeRequest } from '../request/mount-request';
import { mountStep } from '../request/native-mount';
import { OverlayMount } from './overlay-mount';
import { pruneOthers, pruneOthersSync } from '../images/image-record-write';
import { withImageDirsInUse, withImageDirsInUseSync } from '../inspect/image-dirs-in-use';

/**
 * Mounts an overlay, off the event loop. Every layer is opened and checked
 * first; the kernel's own reason comes back in `err.detail` on failure. An
 * upper or work another mounted overlay uses is refused (EBUSY, lib/inspect/live-writers.ts).
 */
export async function mount(options: MountOptions): Promise<OverlayMount> {
  const request = toNativeRequest(options);
  refuseHeldDirs(request);
  try {
    return new OverlayMount(request.target, await pruneOthers(await mountStep(await withImageDirsInUse(request)).async()));
  } catch (err) {
    throw explainBusyLayer(err, request);
  }
}

/** Synchronous twin of {@link mount}. */
export function mountSync(options: MountOptions): OverlayMount {
  const request = toNativeRequest(options);
  refuseHeldDirs(request);
  try {
    return new OverlayMount(request.target, pruneOthersSync(mountStep(withImageDirsInUseSync(request)).sync()));
  } catch (err) {
    throw explainBusyLayer(err, request);
  }
}
