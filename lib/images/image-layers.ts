// Image files as layers: `{ image, path?, type?, digest? }` wherever a layer directory
// is taken. Checked here with the field at fault named; the addon mounts each
// image once, detached, and opens `path` beneath its root.
import path from 'node:path';
import { invalid } from '../core/errors';
import { checkArray, checkChoice, checkKnownKeys, checkPath, isNormalAbsolute, typeError } from '../core/args';
import type { ImageType, NativeImageSpec } from '../core/native';

export type { ImageType, NativeImageSpec, NativeImages } from '../core/native';

/** A layer inside an image file instead of a directory. */
export interface ImageLayer {
  /** The image file (ext4, erofs or squashfs). */
  image: string;
  /** A directory inside the image (an ext4 root holds `lost+found`); the root when left out. */
  path?: string;
  /** The filesystem; read from the superblock when left out. */
  type?: ImageType;
  /** The image file's fs-verity digest, `sha256:<64 hex>`: measured on the very file mounted, and refused (nothing mounted) if it differs. */
  digest?: string;
}

/** A layer: a directory, or a directory inside an image file. */
export type LayerSource = string | ImageLayer;

const IMAGE_TYPES: readonly ImageType[] = ['ext4', 'erofs', 'squashfs'];

function isImageLayer(value: unknown): value is ImageLayer {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// Relative to the image's root, normalised; '..' is refused rather than
// clamped, so a mistake is named instead of silently mounting the root.
function checkInside(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw typeError(field, 'a path inside the image', value);
  if (value.includes('\0')) throw invalid(field, 'must not contain a NUL byte');
  if (value.split('/').includes('..')) throw invalid(field, `'${value}' has a '..' component: the layer must stay inside the image`);
  const inside = path.posix.normalize(`/${value}`).slice(1).replace(/\/$/, '');
  return inside === '' ? undefined : inside;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** `sha256:<64 hex>`, upper or lower case, in lower case. */
export function checkDigest(field: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(field, "a digest 'sha256:<64 hex digits>'", value);
  const hex = DIGEST.exec(value.toLowerCase());
  if (!hex) throw invalid(field, `'${value}' is not a digest of the form 'sha256:<64 hex digits>'`);
  return `sha256:${hex[1]!}`;
}

const IMAGE_KEYS: ReadonlySet<string> = new Set(['image', 'path', 'type', 'digest']);

/** Validates one image layer; `field` is the layer's ('lower[2]'). */
function checkImageLayer(field: string, value: ImageLayer): NativeImageSpec {
  checkKnownKeys(value, IMAGE_KEYS, 'an image layer', `${field}.`);
  const image = checkPath(`${field}.image`, value.image);
  const inside = checkInside(`${field}.path`, value.path);
  const type = checkChoice<ImageType>(`${field}.type`, value.type, IMAGE_TYPES);
  if (value.digest === undefined) return [image, inside, type];
  return [image, inside, type, checkDigest(`${field}.digest`, value.digest)];
}

/** The image specs of a list of layers, or undefined when none is an image. */
export function imageSpecs(field: string, layers: readonly unknown[]): Array<NativeImageSpec | null> | undefined {
  let specs: Array<NativeImageSpec | null> | undefined;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    if (!isImageLayer(layer)) continue;
    specs ??= new Array<NativeImageSpec | null>(layers.length).fill(null);
    specs[i] = checkImageLayer(`${field}[${i}]`, layer);
  }
  return specs;
}

/**
 * A list of layers: each a directory made absolute, or an image layer, which
 * stands in the list by its image's path (its spec is read by imageSpecs).
 */
export function checkLayerPaths(field: string, value: unknown): string[] {
  if (value === undefined) return [];
  const items = checkArray(field, value, 'an array of paths');
  // The field name is built only for a layer that needs more than the fast check.
  return items.map((item, i) => (isNormalAbsolute(item) ? item : isImageLayer(item) ? checkPath(`${field}[${i}].image`, item.image) : checkPath(`${field}[${i}]`, item)));
}

/** upper or work: a directory, or a directory inside an image. */
export function checkLayer(field: string, value: unknown): [string, NativeImageSpec | null] {
  if (!isImageLayer(value)) return [checkPath(field, value), null];
  const spec = checkImageLayer(field, value);
  return [spec[0], spec];
}
