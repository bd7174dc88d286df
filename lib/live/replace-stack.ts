// The one replace algorithm, behind replace()/replaceSync() and
// OverlayMount's replace()/replaceSync(): the request built and checked
// against the stack it replaces (replace-live-stack.ts), the kernel's
// replace (which records the new stack's images), a few other records
// checked, and a busy layer explained.
import { explainBusyLayer } from '../inspect/busy-layers';
import { dirsInUseWalk } from '../inspect/image-dirs-in-use';
import { pruneOthers, pruneOthersSync } from '../images/image-record-write';
import { toReplaceRequest } from '../request/mount-request';
import type { NativeMountResult } from '../core/native';
import { replaceStep } from '../request/native-mount';
import type { ReplaceOptions } from '../request/mount-options';
import { againstLiveStack } from './replace-live-stack';
import { step, type Walk } from '../core/sync-or-async';

/** The absolute target and what the kernel made there: what an OverlayMount is built from. */
export type Replaced = [target: string, result: NativeMountResult];

/** `beforeReplace` runs once the options are checked, before anything is looked at on the target (OverlayMount's ownership check). */
export function* replaceWalk(target: string, options: ReplaceOptions, beforeReplace?: () => void): Walk<Replaced> {
  const checked = toReplaceRequest(options, target);
  beforeReplace?.();
  const request = yield* dirsInUseWalk(yield* againstLiveStack(checked), true);
  try {
    const made = yield* step(replaceStep(request));
    const result = yield* step({ sync: () => pruneOthersSync(made), async: () => pruneOthers(made) });
    return [request.target, result];
  } catch (err) {
    throw explainBusyLayer(err, request);
  }
}
