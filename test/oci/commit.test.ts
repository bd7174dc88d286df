// commit() of a real mounted stack (its lowers an image of the store), then
// save() in each format, unpacked into a fresh store and mounted by ref:
// lists exactly as the stack it was committed from, entry for entry. The
// committed layer is an OCI layer (whiteouts as .wh.NAME, the opaque marker)
// kept in the store as a blob and as a layer; the new config is the base's
// with the diff id and a history entry added. Sync twins on a stack of plain
// directories, whose lower becomes a layer of the image too.
import * as fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { commit, commitSync, mount, mountSync, save, saveSync, unpack, unpackSync } from '../../lib/index';
import { TarReader } from '../../lib/oci/tar-reader';
import { BASE_REF, mountedChangedStack, storeWithBase } from './builders/committed-stack';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';
import { listing } from './builders/tree-listing';

const REF = 'example.com/app:2';

function tarNames(tar: Buffer): string[] {
  const names: string[] = [];
  const reader = new TarReader('test', (e) => void names.push(e.name.toString()));
  reader.push(tar);
  reader.end();
  return names;
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, any>;

t.test('commit of a mounted stack, saved and unpacked elsewhere, lists as the stack', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  const target = await mountedChangedStack(t, s, store);
  const stack = listing(target);
  for (const [name, xattr] of [['new/file', 'user.note='], ['new/file', 'trusted.label='], ['new', 'user.dir='], ['usr/bin/ping', 'security.capability=']]) {
    t.match(stack.find((row) => row.startsWith(`${name} `)), xattr, `the stack shows ${name}'s ${xattr.slice(0, -1)}, which the copies must too`);
  }
  const result = await commit(target, { store, ref: REF });
  t.ok(result.base, 'the lowers were the base image');
  t.match(result, { ref: REF, layer: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }, skipped: [] });

  // The layer: a gzip'd OCI tar in blobs/, its diff id a layer in layers/.
  const blob = fs.readFileSync(`${store}/blobs/sha256/${result.layer.digest.slice(7)}`);
  t.equal(blob.length, result.layer.size);
  const names = tarNames(gunzipSync(blob));
  for (const n of ['./', 'd/', 'etc/.wh.gone', 'd/sub/', 'o/', 'o/.wh..wh..opq', 'o/fresh', 'usr/bin/su', 'usr/bin/tool2', 'new/file']) {
    if (n === 'd/' || n === 'd/sub/') t.notOk(names.includes(n), `${n} is not in the layer`);
    else t.ok(names.includes(n), `${n} is in the layer`);
  }
  t.ok(names.includes('.wh.d'), 'the deleted directory is a whiteout');
  t.ok(fs.statSync(`${store}/layers/${result.layer.diffId.slice(7)}`).isDirectory());
  const config = readJson(`${store}/blobs/sha256/${result.config.slice(7)}`);
  t.equal(config.rootfs.diff_ids.length, 2);
  t.equal(config.rootfs.diff_ids[1], result.layer.diffId);
  t.match(config.history.at(-1), { created_by: `ovl commit ${target}` });
  t.equal(config.history.length, 1, "the base's history (none) and the new layer's entry");
  t.equal(fs.readFileSync(`${store}/refs/${encodeURIComponent(REF)}`, 'utf8').trim(), result.manifest);
  t.same(fs.readdirSync(`${store}/tmp`), [], 'no work left');

  // The image by ref, as it is in the store.
  const [byRef] = s.mkdirs('by-ref');
  unmountAtEnd(t, await mount({ lower: [{ oci: store, ref: REF }], target: byRef }));
  t.same(listing(byRef), stack, 'mounted from the store by ref');

  for (const format of ['oci-archive', 'docker-archive'] as const) {
    const out = s.path(`img.${format}`);
    const saved = await save(store, REF, out, { format });
    t.equal(saved.size, fs.statSync(out).size);
    const fresh = s.path(`fresh-${format}`);
    const unpacked = await unpack(out, { store: fresh });
    t.same(unpacked.refs, [REF], `${format}: stored under its name`);
    const [mnt] = s.mkdirs(`mnt-${format}`);
    unmountAtEnd(t, await mount({ lower: [{ oci: fresh, ref: REF }], target: mnt }));
    t.same(listing(mnt), stack, `${format}: lists as the committed stack`);
  }
  t.notOk(fs.readdirSync(s.dir).some((n) => n.includes('.ovl-save-')), 'no temporary left beside the archives');
});

t.test('commitSync and saveSync: a stack of plain directories, its lower a layer of the image too', needsOverlay, async (t) => {
  const s = scratch(t);
  s.write({ 'lower/etc/a': 'a', 'lower/etc/b': 'b', 'lower/keep': 'k' });
  const [target, upper, work] = s.mkdirs('m', 'upper', 'work');
  unmountAtEnd(t, mountSync({ lower: [s.path('lower')], upper, work, target }));
  fs.rmSync(`${target}/etc/b`);
  fs.writeFileSync(`${target}/etc/c`, 'c');
  const stack = listing(target);
  const result = commitSync(target, { store: s.path('store'), ref: 'plain:1', compression: 'none' });
  t.equal(result.base, undefined, 'no stored image was the base');
  t.equal(result.layer.mediaType, 'application/vnd.oci.image.layer.v1.tar');
  t.equal(result.layer.digest, result.layer.diffId, 'uncompressed: the blob is the tar');
  const config = readJson(`${s.path('store')}/blobs/sha256/${result.config.slice(7)}`);
  t.equal(config.rootfs.diff_ids.length, 2, 'the lower and the upper');
  t.equal(config.os, 'linux');
  t.equal(config.history.length, 2, 'a history entry for each layer');
  saveSync(s.path('store'), 'plain:1', s.path('p.tar'), { format: 'oci-archive' });
  const r = unpackSync(s.path('p.tar'), { store: s.path('fresh') });
  t.same(r.refs, ['localhost/plain:1'], 'an OCI archive names it in full, as podman does');
  const [mnt] = s.mkdirs('mnt');
  unmountAtEnd(t, mountSync({ lower: [{ oci: s.path('fresh'), ref: 'localhost/plain:1' }], target: mnt }));
  t.same(listing(mnt), stack);
});

t.test('save of an image only unpacked gives back its layers; without their tar-split records, writes them again from their directories', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  storeWithBase(s, store);
  const [base] = s.mkdirs('base-mnt');
  unmountAtEnd(t, mountSync({ lower: [{ oci: store, ref: BASE_REF }, s.mkdirs('empty')[0]], target: base }));
  const before = listing(base);
  const stored = readJson(`${store}/blobs/sha256/${fs.readFileSync(`${store}/refs/${encodeURIComponent(BASE_REF)}`, 'utf8').trim().slice(7)}`).config.digest;
  const kept = saveSync(store, BASE_REF, s.path('kept.tar'), { format: 'docker-archive' });
  t.same([kept.config, kept.rewritten], [stored, []], 'the layer made again from its record: the image keeps its config');
  fs.rmSync(`${store}/tar-split`, { recursive: true });
  const saved = saveSync(store, BASE_REF, s.path('b.tar'), { format: 'docker-archive' });
  t.match(saved, { ref: BASE_REF, format: 'docker-archive', config: /^sha256:/, rewritten: [/^sha256:/] });
  t.not(saved.config, stored, 'written again: a new diff id, so a new config');
  unpackSync(s.path('b.tar'), { store: s.path('fresh') });
  const [mnt] = s.mkdirs('mnt');
  unmountAtEnd(t, mountSync({ lower: [{ oci: s.path('fresh'), ref: BASE_REF }, s.mkdirs('empty2')[0]], target: mnt }));
  t.same(listing(mnt), before);
});
