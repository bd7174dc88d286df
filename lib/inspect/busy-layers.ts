// Overlay with index=on refuses an upper or work directory that another
// overlay already uses, with a bare EBUSY naming the target (its reason goes
// to dmesg only). mount, apply and replace refuse such a directory before the
// kernel (lib/inspect/live-writers.ts); this explains the EBUSY that still comes from
// the kernel (a holder mounted in between, or one mountinfo names by no path).
import { OverlayError } from '../core/errors';
import { holdersOf, liveWriters, overlayNamed, writableDirs } from './live-writers';
import type { NativeMountRequest } from '../core/native';

const EBUSY = 16;

/** The refusal again, naming the busy layer and the overlay using it; other errors as they were. */
export function explainBusyLayer(err: unknown, request: NativeMountRequest): unknown {
  if (!(err instanceof OverlayError) || err.errno !== -EBUSY || request.upper === undefined || request.work === undefined) return err;
  if (err.syscall !== 'fsconfig' && err.syscall !== 'mount') return err;
  const writers = liveWriters();
  for (const [field, dir] of writableDirs(request)) {
    const held = holdersOf(dir, writers)[0];
    if (held === undefined) continue;
    const where = held.inside ? `lies inside '${held.path}', the ${held.as} of` : `is in use as the ${held.as} of`;
    const note = `${field} '${dir}' ${where} ${overlayNamed(held.mount)}; with index=on overlay refuses to share it`;
    return new OverlayError({
      errno: EBUSY,
      syscall: err.syscall,
      ...(err.path !== undefined ? { path: err.path } : {}),
      field,
      detail: [...err.detail, note],
    });
  }
  return err;
}
