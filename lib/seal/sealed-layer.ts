// Sealed layers: `{ sealed: IMAGE, store: DIR, digest? }` wherever lower
// layers are taken. A sealed image is an EROFS tree of metadata whose
// regular files point (trusted.overlay.redirect `/xx/<62 hex>`, with
// trusted.overlay.metacopy) at objects in a content-addressed store, so it
// stands in the stack as two layers: the image as an erofs lower, the store
// as a data-only layer beneath every lower (6.5+). Expanded here, before the
// request is built, so mount, replace, apply and check all take it the same way.
import { invalid } from '../core/errors';
import { checkKnownKeys, checkPath } from '../core/args';
import { checkDigest, type ImageLayer } from '../images/image-layers';
import type { NativeSealedSpec } from '../core/native';

export type { NativeSealedSpec, SealedUse } from '../core/native';

/** A layer sealed in composefs' form: a metadata image over an object store. */
export interface SealedLayer {
  /** The EROFS image holding the tree's metadata. */
  sealed: string;
  /** The object store its files' redirects lead into (`xx/<62 hex>`), mounted as a data-only layer. */
  store: string;
  /** The image file's own fs-verity digest, `sha256:<64 hex>`: the image is measured before mounting and refused if it differs. */
  digest?: string;
}

const SEALED_KEYS: ReadonlySet<string> = new Set(['sealed', 'store', 'digest']);

export function isSealedLayer(value: unknown): value is SealedLayer {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'sealed' in value;
}

function checkSealedLayer(field: string, value: SealedLayer): NativeSealedSpec {
  checkKnownKeys(value, SEALED_KEYS, 'a sealed layer', `${field}.`);
  const spec: NativeSealedSpec = { field, image: checkPath(`${field}.sealed`, value.sealed), store: checkPath(`${field}.store`, value.store) };
  if (value.digest !== undefined) spec.digest = checkDigest(`${field}.digest`, value.digest);
  return spec;
}

/** The layers with every sealed one expanded, and the sealed layers found. */
export interface ExpandedLayers {
  /** With `storesAs: 'lower'`, the stores come last here. */
  lower: unknown[];
  /** The given data layers, then (`storesAs: 'data'`) each sealed layer's store once: the kernel wants data-only layers beneath every lower. */
  data: unknown[];
  sealed: NativeSealedSpec[];
}

/**
 * Each sealed layer of `lower` becomes its image as an erofs layer; its
 * store joins the data layers, or, where the kernel has none (before 6.5),
 * the bottom of the lower layers, where the image's redirects reach it just
 * the same (its `xx` directories then show in the tree unless the image
 * hides them, as composefs' own images do with whiteouts `00`..`ff`).
 * Undefined when no lower is sealed, so a request without one is built as
 * before. A sealed layer in `data` is refused: it is a lower with a data
 * layer of its own.
 */
export function expandSealed(lower: unknown, data: unknown, storesAs: 'data' | 'lower' = 'data'): ExpandedLayers | undefined {
  if (Array.isArray(data)) {
    const at = data.findIndex(isSealedLayer);
    if (at >= 0) throw invalid(`data[${at}]`, 'a sealed layer belongs in lower (its store becomes the data-only layer)');
  }
  if (!Array.isArray(lower) || !lower.some(isSealedLayer)) return undefined;
  const sealed: NativeSealedSpec[] = [];
  const out: unknown[] = lower.map((layer, i) => {
    if (!isSealedLayer(layer)) return layer;
    const spec = checkSealedLayer(`lower[${i}]`, layer);
    sealed.push(spec);
    // The digest is measured by the addon on the very file it mounts (lib/images/image-layers.ts).
    const image: ImageLayer = spec.digest === undefined ? { image: spec.image, type: 'erofs' } : { image: spec.image, type: 'erofs', digest: spec.digest };
    return image;
  });
  const given = Array.isArray(data) ? data : [];
  const stores = [...new Set(sealed.map((s) => s.store))].filter((s) => !given.includes(s) && !out.includes(s));
  if (storesAs === 'lower') return { lower: [...out, ...stores], data: given, sealed };
  return { lower: out, data: [...given, ...stores], sealed };
}
