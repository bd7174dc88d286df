// The names OCI image layers use for deletions (image-spec layer.md).
import { OverlayError } from './errors';

/** `.wh.NAME` deletes NAME from the layers beneath. */
export const WHITEOUT_PREFIX = '.wh.';
/** `.wh..wh..opq` in a directory hides everything the layers beneath have in it. */
export const OPAQUE_MARKER = '.wh..wh..opq';
/** `.wh..wh.` starts names that are tooling metadata (aufs), not deletions. */
export const META_PREFIX = '.wh..wh.';

const EINVAL = 22;

/** A layer this conversion cannot express; names the entry, relative to the layer. */
export function layerRefusal(rel: string, reason: string): OverlayError {
  return new OverlayError({ errno: EINVAL, field: '/' + rel, reason, path: rel });
}
