'use strict';
// 9. An image archive unpacked: one gzip'd layer of whole /usr/share
// subdirectories (about `plan.ociEntries` entries), in an oci-dir, read by
// unpackSync and unpack into a fresh store, against `gunzip -c | tar -x` of the same
// layer blob into a fresh directory (GNU tar as root keeps owners and modes,
// as unpack does); the same layer zstd'd by the zstd program (level 3, as
// podman writes), read by unpackSync against `zstd -dc | tar -x`. unpack also
// checks the blob's digest and the layer's diff id and turns OCI whiteouts
// into overlay form, which tar does not. Then commit: the same tree as the
// upper of an overlay, committed into a fresh store (gzip, and zstd) against
// `tar -c | gzip` (and `tar -c | zstd -3`) of the upper into a file. commit
// also hashes the tar and the blob and unpacks the blob into the store's
// layer, which tar does not.
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { countEntries } = require('../lib/trees');

const SECTION = '9. unpack and commit of an OCI image (tmpfs)';

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');


// The /usr/share subdirectories, in order, that make about `target` entries.
function chooseTrees(target) {
  const chosen = [];
  let entries = 0;
  for (const name of fs.readdirSync('/usr/share').sort()) {
    if (entries >= target) break;
    const from = path.join('/usr/share', name);
    if (!fs.lstatSync(from).isDirectory()) continue;
    chosen.push(name);
    entries += 1 + countEntries(from);
  }
  return { chosen, entries };
}

// The smallest oci-dir holding one image of one layer: index, manifest, config, blob.
function writeOciDir(dir, layerBlob, diffId, mediaType) {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (bytes) => {
    const hex = sha256(bytes);
    fs.writeFileSync(path.join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layer = put(layerBlob);
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType, ...layer }] })));
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'bench.example/share:1' } }] };
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return path.join(blobs, layer.digest.slice('sha256:'.length));
}

// A candidate timing `act` on a fresh directory, removed after (untimed).
function timedInFresh(workspace, name, label, act) {
  return {
    name,
    iterations: 1,
    run: async () => {
      const dir = workspace.dir(label);
      const start = nowNs();
      await act(dir);
      const ns = elapsedNs(start);
      fs.rmSync(dir, { recursive: true, force: true });
      return ns;
    },
  };
}

const shell = (script, ...args) => execFileSync('sh', ['-c', script, 'sh', ...args]);

async function unpackRows({ ovl, workspace, report, plan }, layerTar, entries) {
  const gzDir = workspace.dir('oci-dir');
  const gzBlob = writeOciDir(gzDir, require('node:zlib').gzipSync(layerTar), sha256(layerTar), 'application/vnd.oci.image.layer.v1.tar+gzip');
  const zstDir = workspace.dir('oci-dir-zstd');
  const zstBytes = execFileSync('zstd', ['-q', '-c', '-3'], { input: layerTar, maxBuffer: 4 << 30 });
  const zstBlob = writeOciDir(zstDir, zstBytes, sha256(layerTar), 'application/vnd.oci.image.layer.v1.tar+zstd');
  const candidates = [
    timedInFresh(workspace, 'unpackSync of the oci-dir', 'oci-store', (store) => ovl.unpackSync(gzDir, { store })),
    timedInFresh(workspace, 'await unpack of the oci-dir', 'oci-store', (store) => ovl.unpack(gzDir, { store })),
    timedInFresh(workspace, 'gunzip -c piped to tar -x, the layer blob', 'oci-tar', (dest) => shell('gunzip -c "$1" | tar -x -C "$2"', gzBlob, dest)),
    timedInFresh(workspace, 'unpackSync of the oci-dir, zstd layer', 'oci-store', (store) => ovl.unpackSync(zstDir, { store })),
    timedInFresh(workspace, 'zstd -dc piped to tar -x, the layer blob', 'oci-tar', (dest) => shell('zstd -q -dc "$1" | tar -x -C "$2"', zstBlob, dest)),
  ];
  const results = await interleave(candidates, plan.ociRounds);
  fs.rmSync(gzDir, { recursive: true, force: true });
  fs.rmSync(zstDir, { recursive: true, force: true });
  const references = { gunzip: median(results.get('gunzip -c piped to tar -x, the layer blob').samplesNs), zstd: median(results.get('zstd -dc piped to tar -x, the layer blob').samplesNs) };
  for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs: name.includes('zstd') ? references.zstd : references.gunzip, runs: `${plan.ociRounds}x${entries} entries` });
}

async function commitRows({ ovl, workspace, report, plan }, layerTar, entries) {
  const set = workspace.overlaySet(1, 'oci-commit');
  // The tree as the upper, as tar -x as root writes it (owners, modes, times).
  execFileSync('tar', ['-x', '-C', set.upper], { input: layerTar, maxBuffer: 4 << 30 });
  const mounted = ovl.mountSync({ lower: set.lower, upper: set.upper, work: set.work, target: set.target });
  try {
    const candidates = [
      timedInFresh(workspace, 'commitSync of the upper, gzip', 'oci-commit-store', (store) => ovl.commitSync(set.target, { store, ref: 'bench.example/commit:1' })),
      timedInFresh(workspace, 'tar -c piped to gzip, the upper', 'oci-commit-tar', (dir) => shell('tar -c -C "$1" . | gzip > "$2/layer.tar.gz"', set.upper, dir)),
      timedInFresh(workspace, 'commitSync of the upper, zstd', 'oci-commit-store', (store) => ovl.commitSync(set.target, { store, ref: 'bench.example/commit:1', compression: 'zstd' })),
      timedInFresh(workspace, 'tar -c piped to zstd -3, the upper', 'oci-commit-tar', (dir) => shell('tar -c -C "$1" . | zstd -q -3 > "$2/layer.tar.zst"', set.upper, dir)),
    ];
    const results = await interleave(candidates, plan.ociRounds);
    const references = { gzip: median(results.get('tar -c piped to gzip, the upper').samplesNs), zstd: median(results.get('tar -c piped to zstd -3, the upper').samplesNs) };
    for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs: name.includes('zstd') ? references.zstd : references.gzip, runs: `${plan.ociRounds}x${entries} entries` });
  } finally {
    mounted.unmountSync();
  }
}

async function benchOciImages(context) {
  const { workspace, report, plan } = context;
  const { chosen, entries } = chooseTrees(plan.ociEntries);
  const tarFile = path.join(workspace.dir('oci-src'), 'layer.tar');
  // Rooted at /usr, as in an image rooted at /: /usr/share's relative symlinks into /usr/lib then stay inside the layer.
  execFileSync('tar', ['-C', '/usr', '-cf', tarFile, ...chosen.map((name) => `share/${name}`)]);
  const layerTar = fs.readFileSync(tarFile);
  fs.rmSync(tarFile);
  report.note(`${SECTION}: ${entries} entries (${(layerTar.length / 1e6).toFixed(0)} MB uncompressed), ${plan.ociRounds} rounds, interleaved`);
  await unpackRows(context, layerTar, entries);
  await commitRows(context, layerTar, entries);
}

module.exports = { benchOciImages, SECTION };
