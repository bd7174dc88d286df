// An image from an image store as lower layers: `{ oci: STORE, ref }`
// wherever a list of lower (or data) layers is taken, expanded in place to
// the image's layer directories, top layer first as overlay stacks them.
// The store is read synchronously (a ref, a manifest and a config, a few
// small files), as the rest of a request is checked before the kernel.
import { invalid } from '../core/errors';
import { checkKnownKeys, checkPath, typeError } from '../core/args';
import { runSync } from '../core/sync-or-async';
import { imageLayerDirs } from './store';

/** An image `unpack` stored: its layers, in order, where the layer stands. */
export interface OciLayer {
  /** The image store directory. */
  oci: string;
  /** A reference unpack stored ('example.com/app:1'), or 'sha256:<manifest hex>'. */
  ref: string;
}

const OCI_KEYS: ReadonlySet<string> = new Set(['oci', 'ref']);

export function isOciLayer(value: unknown): value is OciLayer {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'oci' in value;
}

function expand(field: string, layer: OciLayer): string[] {
  checkKnownKeys(layer, OCI_KEYS, 'an image store layer', `${field}.`);
  const store = checkPath(`${field}.oci`, layer.oci);
  if (typeof layer.ref !== 'string') throw typeError(`${field}.ref`, 'a reference string', layer.ref);
  if (layer.ref === '') throw invalid(`${field}.ref`, 'must not be empty');
  return runSync(imageLayerDirs(store, layer.ref, field)).reverse();
}

/** `layers` with each image store layer replaced by the image's layers; the same array when it has none. */
export function expandOciLayers(field: string, layers: unknown): unknown {
  if (!Array.isArray(layers) || !layers.some(isOciLayer)) return layers;
  return layers.flatMap((layer, i) => (isOciLayer(layer) ? expand(`${field}[${i}]`, layer) : [layer]));
}
