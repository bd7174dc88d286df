// Refusals of the OCI layer tools. The names OCI image layers use for
// deletions (image-spec layer.md: `.wh.NAME`, `.wh..wh..opq`, and `.wh..wh.*`
// for tooling metadata) are read natively, in native/convert/oci_convert_entry.cc (fromOci)
// and native/convert/layer_export_entry.cc (toOci).
import { OverlayError } from './errors';

const EINVAL = 22;

/** A layer this conversion cannot express; names the entry, relative to the layer. */
export function layerRefusal(rel: string, reason: string): OverlayError {
  return new OverlayError({ errno: EINVAL, field: '/' + rel, reason, path: rel });
}
