// Zstd layers both ways. unpack: layers the zstd program wrote (one frame,
// several frames, without a content checksum) read from a file and from a
// pipe; a truncated and a damaged zstd layer, whose blob digests match their
// manifest, refused naming the layer, the store as it was. commit with
// compression 'zstd': the blob is a zstd stream the zstd program reads back
// to the tar of the diff id, and save writes it as it is into an
// oci-archive and decompressed into a docker-archive; both unpack and mount
// as the committed stack.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import t from 'tap';
import { commit, commitSync, mount, save, unpack, unpackSync } from '../../lib/index';
import { archive, ociLayoutFiles, zstdOf } from './builders/image-archives';
import { mountedChangedStack } from './builders/committed-stack';
import { storeListing, storeWithOneImage } from './builders/store-before';
import { needsRoot } from '../helpers/layer';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';
import { sha256, tar } from './builders/tar-writer';
import { listing } from './builders/tree-listing';

const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
// Big and random, so a cut or a flipped byte falls inside a frame read over many slices.
const big = tar([{ name: 'etc/', type: 'dir' }, { name: 'etc/big', content: randomBytes(3_000_000) }, { name: 'etc/small', content: 'small' }]);
const small = tar([{ name: 'etc/a', content: 'a' }]);


const layoutWith = (compress: (l: Buffer) => Buffer) => archive(ociLayoutFiles([{ ref: 'example.com/z:1', layers: [small, big] }], undefined, [compress, ZSTD]));

const zstdArgs = (args: string[]) => (l: Buffer) => execFileSync('zstd', ['-q', '-c', ...args], { input: l, maxBuffer: 1 << 30 });

const WRITTEN: [string, (l: Buffer) => Buffer][] = [
  ['one frame, with its checksum', zstdOf],
  ['no content checksum, level 19', zstdArgs(['--no-check', '-19'])],
  ['two frames, one after the other', (l) => Buffer.concat([zstdOf(l.subarray(0, 1024)), zstdOf(l.subarray(1024))])],
  ['a frame split in blocks by a long-distance window', zstdArgs(['--long=27', '-1'])],
];

for (const [what, compress] of WRITTEN) {
  t.test(`zstd layers (${what}) unpack from a file and from a pipe`, needsRoot, async (t) => {
    const s = scratch(t);
    fs.writeFileSync(s.path('a.tar'), layoutWith(compress));
    const r = unpackSync(s.path('a.tar'), { store: s.path('store') });
    t.same(r.layers.map((l) => l.diffId), [small, big].map((l) => `sha256:${sha256(l)}`), 'the diff ids are the tars the zstd streams hold');
    t.same(fs.readFileSync(s.path(`store/layers/${sha256(big)}/etc/small`), 'utf8'), 'small');
    t.equal(fs.statSync(s.path(`store/layers/${sha256(big)}/etc/big`)).size, 3_000_000);
    const piped = spawn('cat', [s.path('a.tar')], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout;
    const p = await unpack(piped, { store: s.path('piped') });
    t.same(p.refs, ['example.com/z:1']);
    t.same(storeListing(s.path('piped/layers')), storeListing(s.path('store/layers')), 'the same layers from a pipe');
  });
}

const SPOILED: [string, (z: Buffer) => Buffer][] = [
  ['cut in half', (z) => z.subarray(0, z.length >> 1)],
  ['with its last 4 bytes (the checksum) cut off', (z) => z.subarray(0, z.length - 4)],
  ['cut after the frame header', (z) => z.subarray(0, 12)],
  ['with a byte flipped in the middle', (z) => Buffer.concat([z.subarray(0, z.length >> 1), Buffer.from([z[z.length >> 1] ^ 0x55]), z.subarray((z.length >> 1) + 1)])],
  ['with a byte flipped in its checksum', (z) => Buffer.concat([z.subarray(0, z.length - 1), Buffer.from([z[z.length - 1] ^ 1])])],
  ['with garbage after a whole frame', (z) => Buffer.concat([z, Buffer.from('not a zstd frame at all')])],
];

for (const [what, spoil] of SPOILED) {
  t.test(`a zstd layer ${what} is refused naming the layer; the store is as it was`, needsRoot, async (t) => {
    const s = scratch(t);
    const before = storeWithOneImage(s, small);
    // The manifest's digest is the spoiled blob's own: only reading the stream finds the fault.
    const spoiled = spoil(zstdOf(big));
    fs.writeFileSync(s.path('a.tar'), layoutWith((l) => (l === big ? spoiled : zstdOf(l))));
    const refusal = { code: 'EINVAL', field: 'archive', path: `blobs/sha256/${sha256(spoiled)}`, message: new RegExp(`zstd stream of layer 'blobs/sha256/${sha256(spoiled)}' cannot be read .*truncated or damaged`) };
    t.throws(() => unpackSync(s.path('a.tar'), { store: s.path('store') }), refusal);
    t.same(storeListing(s.path('store')), before);
    await t.rejects(unpack(s.path('a.tar'), { store: s.path('store') }), refusal);
    t.same(storeListing(s.path('store')), before);
  });
}

t.test('commit with zstd: a zstd blob, saved as it is or decompressed, unpacked and mounted as the stack', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  const target = await mountedChangedStack(t, s, store);
  const stack = listing(target);
  const result = await commit(target, { store, ref: 'example.com/z:2', compression: 'zstd' });
  t.equal(result.layer.mediaType, ZSTD);
  const blobFile = `${store}/blobs/sha256/${result.layer.digest.slice(7)}`;
  const blob = fs.readFileSync(blobFile);
  t.equal(blob.readUInt32LE(0), 0xfd2fb528, 'the blob is a zstd frame');
  const tarBytes = execFileSync('zstd', ['-q', '-d', '-c', blobFile], { maxBuffer: 1 << 30 });
  t.equal(`sha256:${sha256(tarBytes)}`, result.layer.diffId, 'the zstd program reads it back to the tar of the diff id');
  const manifest = JSON.parse(fs.readFileSync(`${store}/blobs/sha256/${result.manifest.slice(7)}`, 'utf8'));
  t.equal(manifest.layers.at(-1).mediaType, ZSTD);

  const again = commitSync(target, { store, ref: 'example.com/z:3', compression: 'zstd' });
  t.equal(again.layer.diffId, result.layer.diffId, 'commitSync writes the same tar');

  for (const format of ['oci-archive', 'docker-archive'] as const) {
    const out = s.path(`img.${format}`);
    await save(store, 'example.com/z:2', out, { format });
    const fresh = s.path(`fresh-${format}`);
    const unpacked = await unpack(out, { store: fresh });
    t.same(unpacked.refs, ['example.com/z:2']);
    const freshManifest = JSON.parse(fs.readFileSync(`${fresh}/blobs/sha256/${fs.readFileSync(`${fresh}/refs/${encodeURIComponent('example.com/z:2')}`, 'utf8').trim().slice(7)}`, 'utf8'));
    if (format === 'oci-archive') t.equal(freshManifest.layers.at(-1).digest, result.layer.digest, 'the oci-archive holds the zstd blob as it is');
    const [mnt] = s.mkdirs(`mnt-${format}`);
    unmountAtEnd(t, await mount({ lower: [{ oci: fresh, ref: 'example.com/z:2' }], target: mnt }));
    t.same(listing(mnt), stack, `${format}: lists as the committed stack`);
  }
});
