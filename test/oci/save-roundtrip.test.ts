// save() of an unpacked image gives back the image: each layer made again
// byte for byte from its tar-split record and its files, so the archive
// carries the image's own diff ids and config (the image ID). From each
// format and compression, layers from the test's tar writer and from GNU tar
// (PAX records, xattrs, a 10 KiB record's padding after the end blocks); a
// tar that cannot be made again (a name written twice) is written again
// from its directory and said so; a stored file changed since is refused,
// naming the layer and the file, and no archive is left.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { save, saveSync, unpackSync, type SaveFormat } from '../../lib/index';
import { archive, dockerArchiveFiles, ociLayoutFiles, type TestImage } from './builders/image-archives';
import { needsRoot } from '../helpers/layer';
import { scratch, type Scratch } from '../helpers/scratch';
import { sha256, tar } from './builders/tar-writer';
import { setXattrs } from '../helpers/xattr';

const REF = 'example.com/round:1';
const FORMATS: SaveFormat[] = ['docker-archive', 'oci-archive'];

// A layer as GNU tar writes one: PAX headers (times, xattrs), and zeros past the end blocks up to its 10 KiB record.
function gnuTarLayer(s: Scratch): Buffer {
  const root = s.mkdirs('gnu-root')[0];
  for (const [name, size] of [['empty', 0], ['one', 1], ['b511', 511], ['b512', 512], ['b513', 513], ['big', 2_500_000]] as const) {
    fs.writeFileSync(`${root}/${name}`, Buffer.alloc(size, name));
  }
  fs.mkdirSync(`${root}/${'d'.repeat(120)}`);
  fs.writeFileSync(`${root}/${'d'.repeat(120)}/${'f'.repeat(90)}`, 'a long name');
  fs.linkSync(`${root}/one`, `${root}/one-link`);
  fs.symlinkSync('b511', `${root}/sym`);
  setXattrs(`${root}/b512`, { 'user.note': 'kept' });
  return execFileSync('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '-C', root, '-cf', '-', '.'], { maxBuffer: 1 << 28 });
}

const base = tar([
  { name: 'etc/', type: 'dir', mtime: 1_600_000_000 },
  { name: 'etc/a', content: 'alpha', uid: 1000, gid: 1001, mtime: 1_600_000_001 },
  { name: 'etc/hard', type: 'link', linkname: 'etc/a' },
  { name: `long/${'n'.repeat(150)}`, content: 'a name in a PAX header' },
]);
const top = tar([
  { name: 'etc/.wh.a', content: '' },
  { name: 'd/', type: 'dir' },
  { name: 'd/.wh..wh..opq', content: '' },
  { name: 'd/new', content: 'new' },
]);

const plain: [(l: Buffer) => Buffer, string] = [(l) => l, 'application/vnd.oci.image.layer.v1.tar'];
const archives: [string, (images: TestImage[]) => Buffer][] = [
  ['docker-archive', (images) => archive(dockerArchiveFiles(images))],
  ['gzip oci-archive', (images) => archive(ociLayoutFiles(images))],
  ['zstd oci-archive', (images) => archive(ociLayoutFiles(images, undefined, 'zstd'))],
  ['plain oci-archive', (images) => archive(ociLayoutFiles(images, undefined, plain))],
];

// The config digest (the image ID) of the image REF in a store.
function configOf(store: string, ref = REF): string {
  const manifestHex = fs.readFileSync(`${store}/refs/${encodeURIComponent(ref)}`, 'utf8').trim().slice(7);
  return JSON.parse(fs.readFileSync(`${store}/blobs/sha256/${manifestHex}`, 'utf8')).config.digest;
}

t.test('unpack, save, unpack: the same image ID, from each format and compression', needsRoot, async (t) => {
  const s = scratch(t);
  const layers = [base, gnuTarLayer(s), top];
  const images: TestImage[] = [{ ref: REF, layers }];
  for (const [kind, make] of archives) {
    const store = s.path(`store-${kind}`);
    fs.writeFileSync(s.path('in.tar'), make(images));
    unpackSync(s.path('in.tar'), { store });
    const id = configOf(store);
    t.same(fs.readdirSync(`${store}/tar-split`).sort(), layers.map((l) => sha256(l)).sort(), `${kind}: a tar-split record for each layer`);
    for (const format of FORMATS) {
      const out = s.path(`out-${kind}-${format}.tar`);
      const saved = format === 'oci-archive' ? saveSync(store, REF, out, { format }) : await save(store, REF, out, { format });
      t.same([saved.config, saved.rewritten], [id, []], `${kind} saved as ${format}: the image's own config, no layer written again`);
      const again = s.path(`again-${kind}-${format}`);
      unpackSync(out, { store: again });
      t.equal(configOf(again), id, `${kind} saved as ${format}, unpacked again: the same image ID`);
      t.same(fs.readdirSync(`${again}/layers`).sort(), layers.map((l) => sha256(l)).sort(), `${kind} as ${format}: the same diff ids`);
    }
  }
  // A docker-archive's layers are the tars themselves: byte for byte the ones unpacked.
  const store = s.path('store-docker-archive');
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await save(store, REF, stream, { format: 'docker-archive' });
  const out = Buffer.concat(chunks);
  for (const layer of layers) t.ok(out.includes(layer), `layer ${sha256(layer).slice(0, 12)} is in the streamed archive as it was`);
});

t.test('a layer whose tar cannot be made again is written again from its directory, and said so', needsRoot, async (t) => {
  const s = scratch(t);
  const twice = tar([
    { name: 'x', content: 'first' },
    { name: 'x', content: 'second, longer' },
  ]);
  const store = s.path('store');
  fs.writeFileSync(s.path('in.tar'), archive(dockerArchiveFiles([{ ref: REF, layers: [base, twice] }])));
  unpackSync(s.path('in.tar'), { store });
  t.same(fs.readdirSync(`${store}/tar-split`), [sha256(base)], 'no record for the layer that names x twice');
  const saved = saveSync(store, REF, s.path('out.tar'), { format: 'docker-archive' });
  t.same(saved.rewritten, [`sha256:${sha256(twice)}`]);
  t.not(saved.config, configOf(store), 'a new config, naming the new diff id');
  unpackSync(s.path('out.tar'), { store: s.path('again') });
  t.equal(fs.readFileSync(s.path('again', 'layers', sha256(base), 'etc', 'a'), 'utf8'), 'alpha');
});

t.test('a stored file changed since it was unpacked is refused, naming the layer and the file', needsRoot, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  fs.writeFileSync(s.path('in.tar'), archive(ociLayoutFiles([{ ref: REF, layers: [base, top] }])));
  unpackSync(s.path('in.tar'), { store });
  const file = `${store}/layers/${sha256(base)}/etc/a`;
  const layer = `sha256:${sha256(base)}`;
  fs.writeFileSync(file, 'ALPHA');
  for (const format of FORMATS) {
    const out = s.path(`out-${format}.tar`);
    t.throws(() => saveSync(store, REF, out, { format }), { code: 'EIO', field: 'store', path: file, message: new RegExp(`${layer}.*'${file}'.*its bytes differ`) }, `${format}: same size, other bytes`);
    t.notOk(fs.existsSync(out), 'no archive');
  }
  fs.writeFileSync(file, 'alpha, longer');
  await t.rejects(save(store, REF, s.path('o.tar'), { format: 'oci-archive' }), { code: 'EIO', path: file, message: /13 bytes, unpacked 5/ }, 'another size');
  fs.rmSync(file);
  fs.rmSync(`${store}/layers/${sha256(base)}/etc/hard`);
  t.throws(() => saveSync(store, REF, s.path('o.tar'), { format: 'oci-archive' }), { code: 'EIO', path: file, message: /is gone/ }, 'gone');
  t.same(
    fs.readdirSync(s.dir).filter((n) => n.startsWith('o') || n.includes('.ovl-save-')),
    [],
    'no archive, no temporary',
  );
  t.same(fs.readdirSync(`${store}/tmp`), [], 'no work left in the store');
});

t.test('a damaged tar-split record is refused by its diff id check', needsRoot, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  fs.writeFileSync(s.path('in.tar'), archive(dockerArchiveFiles([{ ref: REF, layers: [base] }])));
  unpackSync(s.path('in.tar'), { store });
  const record = `${store}/tar-split/${sha256(base)}`;
  fs.writeFileSync(record, fs.readFileSync(record).subarray(0, 40));
  t.throws(() => saveSync(store, REF, s.path('o.tar'), { format: 'docker-archive' }), { code: 'EIO', field: 'store', path: record, message: /truncated or damaged/ });
  fs.writeFileSync(record, 'not gzip');
  t.throws(() => saveSync(store, REF, s.path('o.tar'), { format: 'docker-archive' }), { code: 'EIO', field: 'store', path: record });
});
