// commit(): the upper layer of the overlay mounted at a target becomes a new
// image in an image store. The upper is written as an OCI layer blob
// (layer-blob.ts) and unpacked from those same bytes as the store's layer;
// the lowers that are the store's layers are the new image's base (with the
// config of the stored image made of exactly them, when there is one), and a
// lower that is a plain directory becomes a layer of its own the same way.
// A new config and manifest, and the ref, then enter the store by
// store.ts's putImage, in the order that keeps it whole at every step.
import fs from 'node:fs';
import { checkChoice, checkOptions, checkPath } from '../core/args';
import { OverlayError } from '../core/errors';
import { MOUNTINFO, parseMountTable } from '../core/mount-table';
import { fsStep, runAsync, runSync, step, type Walk } from '../core/sync-or-async';
import { listMountsSync, type OverlayMountInfo } from '../inspect/mountinfo';
import { makeLayerBlob, type LayerCompression } from './layer-blob';
import { checkImageRef } from './image-ref';
import { checkProgress, ProgressCount, type OciProgressCallback } from './progress';
import { findImageByLayers, layerPath, openForWrite, putImage, sha256Hex, storeLayerOf, storePaths, type StoredImage } from './store';

const EINVAL = 22;
const ENOTSUP = 95;

export interface CommitOptions {
  /** The image store (made if missing); see docs/oci-store.md. */
  store: string;
  /** The reference the new image is stored under ('example.com/app:2'). */
  ref: string;
  /** The new layer's compression: 'gzip' (default), 'zstd' (level 3, libzstd in the addon) or 'none'. */
  compression?: 'gzip' | 'none' | 'zstd';
  /** Called as the layers are written: blob bytes written and layers done so far. */
  progress?: OciProgressCallback;
}

export interface CommitResult {
  ref: string;
  /** 'sha256:<hex>' of the new manifest. */
  manifest: string;
  /** 'sha256:<hex>' of the new image config. */
  config: string;
  /** The new layer: its blob's digest and size, its diff id. */
  layer: { digest: string; diffId: string; size: number; mediaType: string };
  /** The image the lowers were, when the store holds one made of exactly them. */
  base?: string;
  /** Paths of the upper a layer cannot hold (sockets), left out. */
  skipped: string[];
}

interface CommitRequest {
  target: string;
  store: string;
  ref: string;
  compression: LayerCompression;
  count: ProgressCount;
}

function checkRequest(target: unknown, options: CommitOptions | undefined, call: string): CommitRequest {
  const o = checkOptions(options, ['store', 'ref', 'compression', 'progress'], call);
  const compression = checkChoice<LayerCompression>('compression', o.compression, ['gzip', 'none', 'zstd']) ?? 'gzip';
  return { target: checkPath('target', target), store: checkPath('store', o.store), ref: checkImageRef('ref', o.ref), compression, count: new ProgressCount(checkProgress(o.progress)) };
}

// The overlay mounted at target (the top one, when several are stacked there), refused naming what is missing.
function overlayAt(target: string): OverlayMountInfo {
  const overlay = listMountsSync({ target }).at(-1);
  if (overlay === undefined) {
    const real = fs.existsSync(target) ? fs.realpathSync(target) : target;
    const other = parseMountTable(fs.readFileSync(MOUNTINFO, 'utf8')).filter((m) => m.target === real).at(-1);
    const what = other ? `a ${other.fstype} mount, not an overlay` : 'not a mount point';
    throw new OverlayError({ errno: EINVAL, field: 'target', path: target, reason: `'${target}' is ${what}: commit takes the target of a mounted overlay` });
  }
  if (overlay.upper === undefined) throw new OverlayError({ errno: EINVAL, field: 'upper', path: target, reason: `the overlay at '${target}' has no upper layer (a read-only stack): there are no changes to commit` });
  const note = overlay.notes.find((n) => n.field === 'upper' || n.field.startsWith('lower'));
  if (note) throw new OverlayError({ errno: EINVAL, field: note.field, path: target, reason: `the overlay at '${target}' names its ${note.field} '${note.name}', which is not a path to it (${note.note})` });
  if (overlay.data.length > 0) throw new OverlayError({ errno: ENOTSUP, field: 'data', path: target, reason: `the overlay at '${target}' has data-only layers, which an image cannot hold` });
  return overlay;
}

const ARCH: Partial<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

function newConfig(base: StoredImage | undefined, diffIds: string[], history: Record<string, unknown>[]): Buffer {
  const config: Record<string, unknown> = base ? structuredClone(base.config) : { architecture: ARCH[process.arch] ?? process.arch, os: 'linux', config: {} };
  config.created = history.at(-1)?.created;
  config.rootfs = { type: 'layers', diff_ids: diffIds.map((d) => `sha256:${d}`) };
  config.history = [...(Array.isArray(config.history) ? config.history : []), ...history];
  return Buffer.from(JSON.stringify(config));
}

function* commitWalk(req: CommitRequest): Walk<CommitResult> {
  const overlay = overlayAt(req.target);
  const userxattr = overlay.options.includes('userxattr');
  const s = storePaths(req.store);
  const work = yield* step(fsStep(() => openForWrite(s), async () => openForWrite(s)));
  try {
    const storedBytes = Buffer.byteLength(layerPath(s, '0'.repeat(64)));
    const created = new Date().toISOString();
    const diffIds: string[] = [];
    const descriptors: Record<string, unknown>[] = [];
    const layers: [string, string][] = [];
    const blobs: [string, string][] = [];
    const history: Record<string, unknown>[] = [];
    let made = 0;
    let fromStore = true;
    const addLayer = function* (dir: string, createdBy: string) {
      const n = made++;
      const blob = yield* makeLayerBlob({ dir, userxattr, compression: req.compression, file: `${work}/blob-${n}`, unpackInto: { dir: `${work}/layer-${n}`, storedBytes }, written: (b) => req.count.bytes(b) });
      req.count.layer();
      diffIds.push(blob.diffId);
      descriptors.push({ mediaType: blob.mediaType, digest: `sha256:${blob.digest}`, size: blob.size });
      layers.push([blob.dir!, blob.diffId]);
      blobs.push([blob.file, blob.digest]);
      history.push({ created, created_by: createdBy });
      return blob;
    };
    // The lowers, bottom first: the store's own layers kept by diff id, any other directory made a layer.
    for (const lower of [...overlay.lower].reverse()) {
      const hex = storeLayerOf(req.store, lower);
      if (hex === undefined) {
        fromStore = false;
        yield* addLayer(lower, `ovl commit: lower layer ${lower}`);
      } else {
        diffIds.push(hex);
        descriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex}` });
        history.push({ created, created_by: `ovl commit: layer sha256:${hex} of the store` });
      }
    }
    const base = fromStore ? findImageByLayers(req.store, diffIds, 'store') : undefined;
    // The base's config has its layers' history; without one, each layer gets an entry, in order.
    if (base) history.length = 0;
    // The base's own descriptors (its blobs' digests, as it was stored), where it has them.
    const baseLayers = base?.manifest.layers;
    if (Array.isArray(baseLayers) && baseLayers.length === diffIds.length) descriptors.splice(0, descriptors.length, ...(baseLayers as Record<string, unknown>[]));
    const top = yield* addLayer(overlay.upper!, `ovl commit ${overlay.target}`);
    const config = newConfig(base, diffIds, history);
    const configDescriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256Hex(config)}`, size: config.length };
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDescriptor, layers: descriptors }));
    const manifestHex = putImage(s, work, { layers, blobs, config, manifest, ref: req.ref });
    return {
      ref: req.ref,
      manifest: `sha256:${manifestHex}`,
      config: configDescriptor.digest,
      layer: { digest: `sha256:${top.digest}`, diffId: `sha256:${top.diffId}`, size: top.size, mediaType: top.mediaType },
      ...(base ? { base: `sha256:${base.manifestHex}` } : {}),
      skipped: top.skipped,
    };
  } finally {
    yield* step(fsStep(() => fs.rmSync(work, { recursive: true, force: true }), () => fs.promises.rm(work, { recursive: true, force: true })));
  }
}

/**
 * Commits the upper layer of the overlay mounted at `target` as a new image
 * in `options.store`, under `options.ref`: the upper as a layer blob (gzip,
 * zstd or none, as `compression` says) in OCI form, on the lowers as its base.
 */
export async function commit(target: string, options: CommitOptions): Promise<CommitResult> {
  const req = checkRequest(target, options, 'commit()');
  return runAsync(commitWalk(req));
}

/** Synchronous twin of {@link commit}. */
export function commitSync(target: string, options: CommitOptions): CommitResult {
  return runSync(commitWalk(checkRequest(target, options, 'commitSync()')));
}
