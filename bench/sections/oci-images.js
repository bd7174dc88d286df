'use strict';
// 9. An image archive unpacked: one gzip'd layer of whole /usr/share
// subdirectories (about `plan.ociEntries` entries), in an oci-dir, read by
// unpackSync and unpack into a fresh store, against `gunzip -c | tar -x` of the same
// layer blob into a fresh directory (GNU tar as root keeps owners and modes,
// as unpack does). unpack also checks the blob's digest and the layer's diff
// id and turns OCI whiteouts into overlay form, which tar does not.
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { countEntries } = require('../lib/trees');

const SECTION = '9. unpack of an image archive (tmpfs)';

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
function writeOciDir(dir, layerGz, diffId) {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (bytes) => {
    const hex = sha256(bytes);
    fs.writeFileSync(path.join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layer = put(layerGz);
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] })));
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'bench.example/share:1' } }] };
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return path.join(blobs, layer.digest.slice('sha256:'.length));
}

async function benchOciImages({ ovl, workspace, report, plan }) {
  const { chosen, entries } = chooseTrees(plan.ociEntries);
  const tarFile = path.join(workspace.dir('oci-src'), 'layer.tar');
  // Rooted at /usr, as in an image rooted at /: /usr/share's relative symlinks into /usr/lib then stay inside the layer.
  execFileSync('tar', ['-C', '/usr', '-cf', tarFile, ...chosen.map((name) => `share/${name}`)]);
  const layerTar = fs.readFileSync(tarFile);
  fs.rmSync(tarFile);
  const ociDir = workspace.dir('oci-dir');
  const blob = writeOciDir(ociDir, require('node:zlib').gzipSync(layerTar), sha256(layerTar));
  report.note(`${SECTION}: ${entries} entries (${(layerTar.length / 1e6).toFixed(0)} MB uncompressed), ${plan.ociRounds} rounds, interleaved`);
  const candidates = [
    {
      name: 'unpackSync of the oci-dir',
      iterations: 1,
      run: () => {
        const store = workspace.dir('oci-store');
        const start = nowNs();
        ovl.unpackSync(ociDir, { store });
        const ns = elapsedNs(start);
        fs.rmSync(store, { recursive: true, force: true });
        return ns;
      },
    },
    {
      name: 'await unpack of the oci-dir',
      iterations: 1,
      run: async () => {
        const store = workspace.dir('oci-store');
        const start = nowNs();
        await ovl.unpack(ociDir, { store });
        const ns = elapsedNs(start);
        fs.rmSync(store, { recursive: true, force: true });
        return ns;
      },
    },
    {
      name: 'gunzip -c piped to tar -x, the layer blob',
      iterations: 1,
      run: () => {
        const dest = workspace.dir('oci-tar');
        const start = nowNs();
        execFileSync('sh', ['-c', 'gunzip -c "$1" | tar -x -C "$2"', 'sh', blob, dest]);
        const ns = elapsedNs(start);
        fs.rmSync(dest, { recursive: true, force: true });
        return ns;
      },
    },
  ];
  const results = await interleave(candidates, plan.ociRounds);
  const tarNs = median(results.get('gunzip -c piped to tar -x, the layer blob').samplesNs);
  for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs: tarNs, runs: `${plan.ociRounds}x${entries} entries` });
}

module.exports = { benchOciImages, SECTION };
