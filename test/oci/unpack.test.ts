// unpack() and unpackSync(): each archive form (docker-archive with its
// manifest after the layers, oci-archive and oci-dir with gzip or zstd layers), from a
// file and from a pipe, into a store; layers in overlay form (whiteouts,
// opaque directories), hard links, owners, modes and times kept; a layer
// already stored is skipped; a dead run's work is cleared.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { isOpaqueSync, unpack, unpackSync, type UnpackResult } from '../../lib/index';
import { archive, dockerArchiveFiles, ociLayoutFiles, writeOciDir, type TestImage } from './builders/image-archives';
import { isCharDevice00, needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';
import { sha256, tar } from './builders/tar-writer';
import { snapshot } from '../helpers/tree';

const base = tar([
  { name: 'etc/', type: 'dir', mtime: 1_600_000_000 },
  { name: 'etc/a', content: 'alpha', uid: 1000, gid: 1001, mtime: 1_600_000_001 },
  { name: 'etc/gone', content: 'to be deleted' },
  { name: 'etc/hard', type: 'link', linkname: 'etc/a' },
  { name: './bin/su', content: 'su', mode: 0o4755 },
  { name: 'bin/lnk', type: 'symlink', linkname: '../etc/a' },
  { name: 'bin/abs', type: 'symlink', linkname: '/etc/a' },
  { name: 'd/sub/f', content: 'deep' },
  { name: `long/${'n'.repeat(150)}`, content: 'a name in a PAX header' },
]);
const top = tar([
  { name: 'etc/.wh.gone', content: '' },
  { name: 'd/', type: 'dir' },
  { name: 'd/.wh..wh..opq', content: '' },
  { name: 'd/new', content: 'new' },
  { name: 'etc/a', content: 'replaced' },
]);
const images: TestImage[] = [{ ref: 'example.com/app:1', layers: [base, top] }];
const layerDir = (store: string, layer: Buffer) => `${store}/layers/${sha256(layer)}`;

function checkStored(t: Test, store: string, result: UnpackResult): void {
  t.same(result.refs, ['example.com/app:1']);
  t.same(result.layers.map((l) => l.diffId), [base, top].map((l) => `sha256:${sha256(l)}`));
  const b = layerDir(store, base);
  t.same(Object.keys(snapshot(b)), ['bin', 'bin/abs', 'bin/lnk', 'bin/su', 'd', 'd/sub', 'd/sub/f', 'etc', 'etc/a', 'etc/gone', 'etc/hard', 'long', `long/${'n'.repeat(150)}`]);
  const a = fs.statSync(`${b}/etc/a`);
  t.equal(a.ino, fs.statSync(`${b}/etc/hard`).ino, 'the hard link is a link');
  t.equal(fs.statSync(b).mode & 0o7777, 0o755, 'a layer root the tar does not list is left as tar leaves it');
  t.same([a.uid, a.gid, a.mtimeMs / 1000], [1000, 1001, 1_600_000_001]);
  t.equal(fs.statSync(`${b}/etc`).mtimeMs / 1000, 1_600_000_000, 'a directory keeps its time');
  t.equal(fs.statSync(`${b}/bin/su`).mode & 0o7777, 0o4755);
  t.equal(fs.readlinkSync(`${b}/bin/lnk`), '../etc/a');
  const tp = layerDir(store, top);
  t.ok(isCharDevice00(`${tp}/etc/gone`), 'the OCI whiteout is an overlay whiteout');
  t.notOk(fs.existsSync(`${tp}/etc/.wh.gone`));
  t.ok(isOpaqueSync(`${tp}/d`), 'the opaque marker is an opaque directory');
  t.same(fs.readdirSync(`${tp}/d`), ['new']);
  t.equal(fs.readFileSync(`${store}/refs/${encodeURIComponent('example.com/app:1')}`, 'utf8').trim().length, 71);
  t.same(fs.readdirSync(`${store}/tmp`), [], 'no work left');
}

function pipeOf(file: string) {
  return spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout;
}

const forms = {
  'docker-archive': (dir: string) => (fs.writeFileSync(`${dir}/a.tar`, archive(dockerArchiveFiles(images))), `${dir}/a.tar`),
  'oci-archive': (dir: string) => (fs.writeFileSync(`${dir}/a.tar`, archive(ociLayoutFiles(images))), `${dir}/a.tar`),
  'oci-dir': (dir: string) => (writeOciDir(`${dir}/layout`, images), `${dir}/layout`),
  'oci-archive, zstd layers': (dir: string) => (fs.writeFileSync(`${dir}/a.tar`, archive(ociLayoutFiles(images, undefined, 'zstd'))), `${dir}/a.tar`),
  'oci-dir, zstd layers': (dir: string) => (writeOciDir(`${dir}/layout`, images, 'zstd'), `${dir}/layout`),
};

for (const [form, make] of Object.entries(forms)) {
  t.test(`${form}: from a file, Promise and Sync, then again (layers skipped)`, needsRoot, async (t) => {
    const s = scratch(t);
    const file = make(s.dir);
    checkStored(t, s.path('store'), await unpack(file, { store: s.path('store') }));
    const again = unpackSync(file, { store: s.path('store') });
    t.same(again.layers.map((l) => l.added), [false, false], 'a layer already stored is skipped');
    checkStored(t, s.path('sync'), unpackSync(file, { store: s.path('sync') }));
  });
  if (!form.startsWith('oci-dir')) {
    t.test(`${form}: from a pipe`, needsRoot, async (t) => {
      const s = scratch(t);
      checkStored(t, s.path('store'), await unpack(pipeOf(make(s.dir)), { store: s.path('store') }));
    });
  }
}

t.test('a layer named by two images, and an image with no name, are stored once', needsRoot, async (t) => {
  const s = scratch(t);
  const files = ociLayoutFiles([images[0], { ref: 'example.com/base:1', layers: [base] }]);
  fs.writeFileSync(s.path('a.tar'), archive(files));
  const r = await unpack(s.path('a.tar'), { store: s.path('store') });
  t.same(r.refs, ['example.com/app:1', 'example.com/base:1']);
  t.equal(r.layers.length, 2);
  const index = files.find((f) => f.name === 'index.json')!;
  const parsed = JSON.parse(String(index.content));
  delete parsed.manifests[1].annotations;
  index.content = JSON.stringify(parsed);
  fs.writeFileSync(s.path('b.tar'), archive(files));
  const unnamed = unpackSync(s.path('b.tar'), { store: s.path('store') });
  t.match(unnamed.refs[1], /^sha256:[0-9a-f]{64}$/, 'an image without a name is stored by its manifest digest');
});

t.test("a dead run's work in tmp/ is removed by the next", needsRoot, async (t) => {
  const s = scratch(t);
  fs.mkdirSync(s.path('store/tmp/999999999-dead/layer-0'), { recursive: true });
  fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles(images)));
  await unpack(s.path('a.tar'), { store: s.path('store') });
  t.same(fs.readdirSync(s.path('store/tmp')), []);
});

t.test('arguments are checked', async (t) => {
  t.throws(() => unpackSync('/x', {} as never), { code: 'ERR_INVALID_ARG_TYPE', field: 'store' });
  await t.rejects(unpack(42 as never, { store: '/tmp/x' }), { code: 'ERR_INVALID_ARG_TYPE', field: 'archive' });
  t.throws(() => unpackSync('/x', { store: '/s', extra: 1 } as never), { message: /extra/ });
});
