// verify(store): every object measured against its name; a flipped byte is
// named by its path, in both twins; names of another form are not objects;
// each file of an image given whose object is missing is named, with the file.
import * as fs from 'node:fs';
import t from 'tap';
import { verify, verifySync } from '../../lib/index';
import { putObject } from './fsverity-reference';
import { erofsSuperblocks, loopsBackedBy, needsImages } from '../helpers/images';
import { makeSealed } from './sealed-images';
import { scratch } from '../helpers/scratch';

t.test('a whole store passes; a flipped byte and an unreadable object are named', async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  const digests = ['one', 'two', 'x'.repeat(10000), ''].map((text) => putObject(store, Buffer.from(text)));
  fs.writeFileSync(s.path('store', 'README'), 'not an object');
  fs.mkdirSync(s.path('store', digests[0]!.slice(0, 2), 'tmp.1234'), { recursive: true });
  t.same(verifySync(store), { ok: true, objects: 4, problems: [] });
  t.same(await verify(store), { ok: true, objects: 4, problems: [] });

  const flipped = s.path('store', digests[2]!.slice(0, 2), digests[2]!.slice(2));
  const bytes = fs.readFileSync(flipped);
  bytes[5000] ^= 1;
  fs.writeFileSync(flipped, bytes);
  const dirObject = s.path('store', 'ab', 'c'.repeat(62));
  fs.mkdirSync(dirObject, { recursive: true });
  for (const result of [verifySync(store), await verify(store)]) {
    t.equal(result.ok, false);
    t.equal(result.objects, 5);
    t.same(
      result.problems.sort((a, b) => a.path.localeCompare(b.path)),
      [
        { path: dirObject, reason: 'EISDIR' },
        { path: flipped, reason: 'mismatch', digest: `sha256:${putObject(s.path('other'), bytes)}` },
      ].sort((a, b) => a.path.localeCompare(b.path)),
    );
  }
});

t.test('a store that is not there or not a directory is refused naming the field', async (t) => {
  const s = scratch(t);
  t.throws(() => verifySync(s.path('nope')), { code: 'ENOENT', path: s.path('nope'), field: 'store', message: `ENOENT: store: '${s.path('nope')}' does not exist` });
  await t.rejects(verify(s.path('nope')), { code: 'ENOENT', field: 'store' });
  fs.writeFileSync(s.path('a-file'), '');
  t.throws(() => verifySync(s.path('a-file')), { code: 'ENOTDIR', field: 'store', message: `ENOTDIR: store: '${s.path('a-file')}' is not a directory` });
  t.throws(() => verifySync(7 as never), { code: 'ERR_INVALID_ARG_TYPE', field: 'store' });
});

t.test('images: each file whose object the store lacks is named, with the image and the file', needsImages, async (t) => {
  const s = scratch(t);
  const sealed = makeSealed(s, 'a', { 'usr/bin/a': 'aaa', 'usr/lib/b': 'bbb', 'c': 'ccc' });
  const other = makeSealed(s, 'b', { 'x': 'xxx' }, s.path('other-store'));
  const erofsBefore = erofsSuperblocks();
  t.same(await verify(sealed.store, [sealed.image]), { ok: true, objects: 3, problems: [] });
  fs.rmSync(`${sealed.store}/${sealed.objects['usr/lib/b']}`);
  for (const result of [verifySync(sealed.store, [sealed.image, other.image]), await verify(sealed.store, [sealed.image, other.image])]) {
    t.equal(result.ok, false);
    t.same(
      result.problems.sort((a, b) => a.path.localeCompare(b.path)),
      [
        { path: `${sealed.store}/${sealed.objects['usr/lib/b']}`, reason: 'missing', image: sealed.image, file: '/usr/lib/b' },
        { path: `${sealed.store}/${other.objects['x']}`, reason: 'missing', image: other.image, file: '/x' },
      ].sort((a, b) => a.path.localeCompare(b.path)),
    );
  }
  t.same(loopsBackedBy(sealed.image), [], 'the image was mounted only for the walk');
  t.same([...erofsSuperblocks()].filter((id) => !erofsBefore.has(id)), [], 'no erofs superblock left');
  t.throws(() => verifySync(sealed.store, [s.path('nope.img')]), { code: 'ENOENT', field: 'images[0]' });
  t.throws(() => verifySync(sealed.store, 'x' as never), { code: 'ERR_INVALID_ARG_TYPE', field: 'images' });
});
