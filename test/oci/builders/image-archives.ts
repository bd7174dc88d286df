// Image archives as podman and docker write them, built in memory from layer
// tars: docker-archive (manifest.json last, after the layers), oci-archive
// (gzip layers, or zstd ones as `podman push --compression-format zstd`
// writes, index.json last) and oci-dir; each can be spoiled on purpose.
// Zstd layers are made by the zstd program, so unpack's decoder meets an
// encoder that is not its own.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256, tar, type TarSpec } from './tar-writer';

export interface TestImage {
  ref: string;
  /** Layer tars, bottom first. */
  layers: Buffer[];
}

function config(layers: Buffer[], diffIds?: string[]): Buffer {
  return Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds ?? layers.map((l) => `sha256:${sha256(l)}`) } }));
}

/** The files of a docker-archive, in stream order: layers, config, then manifest.json. */
export function dockerArchiveFiles(images: TestImage[], spoil?: { diffIds?: string[] }): TarSpec[] {
  const files: TarSpec[] = [];
  const manifest = images.map((img) => {
    const names = img.layers.map((l) => `${sha256(l)}.tar`);
    img.layers.forEach((l, i) => files.push({ name: names[i], content: l }));
    const cfg = config(img.layers, spoil?.diffIds);
    files.push({ name: `${sha256(cfg)}.json`, content: cfg });
    return { Config: `${sha256(cfg)}.json`, RepoTags: [img.ref], Layers: names };
  });
  files.push({ name: 'manifest.json', content: JSON.stringify(manifest) });
  return files;
}

export type LayerCompression = 'gzip' | 'zstd';

/** A layer tar compressed by the zstd program (level 3, its default; with its content checksum). */
export const zstdOf = (layer: Buffer): Buffer => execFileSync('zstd', ['-q', '-c', '-3'], { input: layer, maxBuffer: 1 << 30 });

const compressed: Record<LayerCompression, [(l: Buffer) => Buffer, string]> = {
  gzip: [gzipSync, 'application/vnd.oci.image.layer.v1.tar+gzip'],
  zstd: [zstdOf, 'application/vnd.oci.image.layer.v1.tar+zstd'],
};

/** The files of an OCI layout, in stream order: blobs (layers gzip'd, or zstd'd), then index.json. */
// A compression, or a compressor of one's own and its media type.
type Compressed = LayerCompression | [(l: Buffer) => Buffer, string];

export function ociLayoutFiles(images: TestImage[], spoil?: { blob?: (hex: string, bytes: Buffer) => Buffer }, compression: Compressed = 'gzip'): TarSpec[] {
  const files: TarSpec[] = [{ name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }];
  const blob = (bytes: Buffer, mediaType: string) => {
    const hex = sha256(bytes);
    files.push({ name: `blobs/sha256/${hex}`, content: spoil?.blob ? spoil.blob(hex, bytes) : bytes });
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  };
  const manifests = images.map((img) => {
    const [compress, mediaType] = typeof compression === 'string' ? compressed[compression] : compression;
    const layers = img.layers.map((l) => blob(compress(l), mediaType));
    const cfg = blob(config(img.layers), 'application/vnd.oci.image.config.v1+json');
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers }));
    return { ...blob(manifest, 'application/vnd.oci.image.manifest.v1+json'), annotations: { 'org.opencontainers.image.ref.name': img.ref } };
  });
  files.push({ name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests }) });
  return files;
}

/** An oci-dir: the OCI layout's files written under `dir`. */
export function writeOciDir(dir: string, images: TestImage[], compression: LayerCompression = 'gzip'): void {
  for (const f of ociLayoutFiles(images, undefined, compression)) {
    fs.mkdirSync(path.dirname(path.join(dir, f.name)), { recursive: true });
    fs.writeFileSync(path.join(dir, f.name), f.content!);
  }
}

export const archive = (files: TarSpec[]) => tar(files);
