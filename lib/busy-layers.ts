// Overlay with index=on refuses an upper or work directory that another
// overlay already uses, with a bare EBUSY naming the target (its reason goes
// to dmesg only). After such a refusal, find the overlay that holds the
// directory so the error can name the layer and that mount.
import * as fs from 'node:fs';
import { OverlayError } from './errors';
import { listMountsSync, type OverlayMountInfo } from './mountinfo';
import type { NativeMountRequest } from './native';

const EBUSY = 16;

function realOrAsIs(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function holderOf(dir: string, mounts: OverlayMountInfo[]): { mount: OverlayMountInfo; as: 'upper' | 'work' } | undefined {
  for (const mount of mounts) {
    if (mount.upper !== undefined && realOrAsIs(mount.upper) === dir) return { mount, as: 'upper' };
    if (mount.work !== undefined && realOrAsIs(mount.work) === dir) return { mount, as: 'work' };
  }
  return undefined;
}

/** The refusal again, naming the busy layer and the overlay using it; other errors as they were. */
export function explainBusyLayer(err: unknown, request: NativeMountRequest): unknown {
  if (!(err instanceof OverlayError) || err.errno !== -EBUSY || request.upper === undefined || request.work === undefined) return err;
  if (err.syscall !== 'fsconfig' && err.syscall !== 'mount') return err;
  const mounts = listMountsSync();
  for (const field of ['upper', 'work'] as const) {
    const dir = realOrAsIs(request[field] as string);
    const holder = holderOf(dir, mounts);
    if (holder === undefined) continue;
    const note = `${field} '${request[field]}' is in use as the ${holder.as} of the overlay mounted on ${holder.mount.target} (mount id ${holder.mount.mountId}); with index=on overlay refuses to share it`;
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
