// Opaque directories: overlay.opaque on a directory in a layer, which hides
// every entry of the layers beneath it.
import { toEntryRequest, type LayerPathOptions } from './layer-path';
import { native, type OpaqueValue } from '../core/native';

export type { OpaqueValue } from '../core/native';

/** Marks `dir` opaque (overlay.opaque = 'y'), replacing an 'x'. */
export async function setOpaque(dir: string, options?: LayerPathOptions): Promise<void> {
  await native.setOpaque(toEntryRequest('dir', dir, options, 'setOpaque()'));
}

/** Synchronous twin of {@link setOpaque}. */
export function setOpaqueSync(dir: string, options?: LayerPathOptions): void {
  native.setOpaqueSync(toEntryRequest('dir', dir, options, 'setOpaqueSync()'));
}

/**
 * 'y' (opaque), 'x' (holds xattr whiteouts), or false: no overlay.opaque, or
 * a value the kernel ignores. `dir` must be a directory (ENOENT, ENOTDIR otherwise).
 */
export async function isOpaque(dir: string, options?: LayerPathOptions): Promise<OpaqueValue | false> {
  return native.isOpaque(toEntryRequest('dir', dir, options, 'isOpaque()'));
}

/** Synchronous twin of {@link isOpaque}. */
export function isOpaqueSync(dir: string, options?: LayerPathOptions): OpaqueValue | false {
  return native.isOpaqueSync(toEntryRequest('dir', dir, options, 'isOpaqueSync()'));
}

/** Removes overlay.opaque from `dir`, whatever its value; nothing set is not an error. */
export async function clearOpaque(dir: string, options?: LayerPathOptions): Promise<void> {
  await native.clearOpaque(toEntryRequest('dir', dir, options, 'clearOpaque()'));
}

/** Synchronous twin of {@link clearOpaque}. */
export function clearOpaqueSync(dir: string, options?: LayerPathOptions): void {
  native.clearOpaqueSync(toEntryRequest('dir', dir, options, 'clearOpaqueSync()'));
}
