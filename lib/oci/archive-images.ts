// The images an archive holds, read from its manifests once every file has
// streamed past: a docker-archive's manifest.json, or an OCI layout's
// index.json (nested indexes followed). Every blob a manifest names is
// checked against its digest and size, and every layer's uncompressed bytes
// against its config's diff id, before anything enters the store.
import { createHash } from 'node:crypto';
import { OverlayError } from '../core/errors';
import { HEX } from './store';
import type { BlobRecord } from './archive-blobs';

const EINVAL = 22;
const ENOENT = 2;
const REF_NAME = 'org.opencontainers.image.ref.name';

/** One image found in the archive, checked. */
export interface ArchiveImage {
  /** The names it is stored under: RepoTags, the ref.name annotation, or 'sha256:<manifest hex>'. */
  refs: string[];
  /** The manifest's bytes as stored (for a docker-archive, an OCI manifest written for it). */
  manifest: Buffer;
  config: Buffer;
  /** Bottom layer first. */
  layers: BlobRecord[];
}

function bad(reason: string, errno = EINVAL): OverlayError {
  return new OverlayError({ errno, field: 'archive', reason });
}

function parse(record: BlobRecord, what: string): Record<string, unknown> {
  if (!record.json) throw bad(`${what} '${record.name}' is not JSON`);
  try {
    const value = JSON.parse(record.json.toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw bad(`${what} '${record.name}' is not a JSON object`);
}

function diffIdsOf(config: Record<string, unknown>, name: string): string[] {
  const ids = (config.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
  if (!Array.isArray(ids) || ids.some((d) => typeof d !== 'string' || !d.startsWith('sha256:') || !HEX.test(d.slice(7)))) throw bad(`image config '${name}' has no valid rootfs.diff_ids`);
  return ids.map((d: string) => d.slice(7));
}

// A layer blob as its config says it must be: read as a tar, the same diff id.
function checkLayer(layer: BlobRecord | undefined, wanted: string, diffId: string, image: string): BlobRecord {
  if (!layer) throw bad(`the archive lacks layer '${wanted}' of ${image}: it is truncated or incomplete`, ENOENT);
  if (!layer.layer) throw bad(`layer '${layer.name}' of ${image} is not a tar stream (gzip, zstd and uncompressed layers are read)`);
  if (layer.layer.error !== undefined) throw layer.layer.error;
  if (layer.layer.diffId !== diffId) throw bad(`layer '${layer.name}' of ${image} unpacks to sha256:${layer.layer.diffId}, but its config says sha256:${diffId}: the digest does not match`);
  return layer;
}

function docker(blobs: Map<string, BlobRecord>, manifest: BlobRecord): ArchiveImage[] {
  const list = JSON.parse(manifest.json?.toString('utf8') ?? 'null') as unknown;
  if (!Array.isArray(list)) throw bad(`manifest.json is not a list of images`);
  return list.map((item: { Config?: unknown; RepoTags?: unknown; Layers?: unknown }, i) => {
    const label = `image ${i} of manifest.json`;
    if (typeof item?.Config !== 'string' || !Array.isArray(item.Layers)) throw bad(`${label} has no Config or Layers`);
    const configRecord = blobs.get(item.Config);
    if (!configRecord) throw bad(`the archive lacks '${item.Config}', the config of ${label}`, ENOENT);
    const named = /([0-9a-f]{64})(\.json)?$/.exec(item.Config);
    if (named && named[1] !== configRecord.digest) throw bad(`config '${item.Config}' has digest sha256:${configRecord.digest}, not the one its name gives: the digest does not match`);
    const config = parse(configRecord, 'config');
    const diffIds = diffIdsOf(config, item.Config);
    if (diffIds.length !== item.Layers.length) throw bad(`${label} lists ${item.Layers.length} layers, its config ${diffIds.length} diff ids`);
    const layers = item.Layers.map((name: unknown, j) => checkLayer(blobs.get(String(name)), String(name), diffIds[j], label));
    // The store holds OCI manifests: one is written for this image, naming each layer by its (uncompressed) digest.
    const ociManifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${configRecord.digest}`, size: configRecord.size },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${l.layer!.diffId}`, size: l.size })),
      }),
    );
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    const refs = tags.length > 0 ? tags : [`sha256:${createHash('sha256').update(ociManifest).digest('hex')}`];
    return { refs, manifest: ociManifest, config: configRecord.json!, layers };
  });
}

// A descriptor's blob, checked against the digest and size the descriptor gives.
function described(blobs: Map<string, BlobRecord>, d: unknown, what: string): BlobRecord {
  const { digest, size } = (d ?? {}) as { digest?: unknown; size?: unknown };
  const hex = typeof digest === 'string' && digest.startsWith('sha256:') ? digest.slice(7) : '';
  if (!HEX.test(hex)) throw bad(`${what} has digest '${String(digest)}': only sha256 digests are read`);
  const record = blobs.get(`blobs/sha256/${hex}`);
  if (!record) throw bad(`the archive lacks blob sha256:${hex} (${what}): it is truncated or incomplete`, ENOENT);
  if (record.digest !== hex) throw bad(`blob 'blobs/sha256/${hex}' (${what}) has digest sha256:${record.digest}: the digest does not match`);
  if (typeof size === 'number' && record.size !== size) throw bad(`blob sha256:${hex} (${what}) is ${record.size} bytes, its descriptor says ${size}`);
  return record;
}

function ociImages(blobs: Map<string, BlobRecord>, index: Record<string, unknown>, where: string, out: ArchiveImage[], depth: number): void {
  if (depth > 8) throw bad(`${where} nests indexes too deep`);
  const manifests = index.manifests;
  if (!Array.isArray(manifests)) throw bad(`${where} has no manifests list`);
  for (const [i, d] of manifests.entries()) {
    const what = `manifest ${i} of ${where}`;
    const record = described(blobs, d, what);
    const doc = parse(record, what);
    const mediaType = (d as { mediaType?: unknown }).mediaType ?? doc.mediaType;
    if (mediaType === 'application/vnd.oci.image.index.v1+json' || Array.isArray(doc.manifests)) {
      ociImages(blobs, doc, `index sha256:${record.digest}`, out, depth + 1);
      continue;
    }
    const configRecord = described(blobs, doc.config, `the config of ${what}`);
    const diffIds = diffIdsOf(parse(configRecord, `the config of ${what}`), configRecord.name);
    const layerDs = doc.layers;
    if (!Array.isArray(layerDs) || layerDs.length !== diffIds.length) throw bad(`${what} lists ${Array.isArray(layerDs) ? layerDs.length : 'no'} layers, its config ${diffIds.length} diff ids`);
    const layers = layerDs.map((l, j) => checkLayer(described(blobs, l, `layer ${j} of ${what}`), `layer ${j}`, diffIds[j], what));
    const name = ((d as { annotations?: Record<string, unknown> }).annotations ?? {})[REF_NAME];
    const refs = typeof name === 'string' && name !== '' ? [name] : [`sha256:${record.digest}`];
    out.push({ refs, manifest: record.json!, config: configRecord.json!, layers });
  }
}

/** The images of an archive whose files are `blobs`, by their names in it. */
export function archiveImages(blobs: Map<string, BlobRecord>): ArchiveImage[] {
  const index = blobs.get('index.json');
  if (index) {
    const out: ArchiveImage[] = [];
    ociImages(blobs, parse(index, 'index'), 'index.json', out, 0);
    return out;
  }
  const manifest = blobs.get('manifest.json');
  if (manifest) return docker(blobs, manifest);
  throw bad('the archive has neither index.json (an OCI layout) nor manifest.json (a docker-archive): it is not an image archive, or it is truncated', ENOENT);
}
