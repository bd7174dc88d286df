// An image from an image store as layers: `{ oci, ref }` in mount, replace
// and check (and `ovl mount --oci STORE:REF`), expanded to the image's
// layers, top first, in the place it stands among the other lowers.
import * as fs from 'node:fs';
import t from 'tap';
import { check, kernelFeatures, mount, mountSync, replace, unpackSync } from '../../lib/index';
import { ovl } from '../helpers/cli';
import { archive, dockerArchiveFiles } from './builders/image-archives';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';
import { sha256, tar } from './builders/tar-writer';

const base = tar([{ name: 'etc/a', content: 'alpha' }, { name: 'etc/gone', content: 'gone' }, { name: 'd/old', content: 'old' }]);
const top = tar([{ name: 'etc/.wh.gone' }, { name: 'd/.wh..wh..opq' }, { name: 'd/new', content: 'new' }, { name: 'etc/a', content: 'replaced' }]);
const REF = 'example.com/app:1';
const needsReplace = { skip: needsOverlay.skip || (!kernelFeatures().moveMountBeneath && 'replace needs MOVE_MOUNT_BENEATH (6.5+)') };

function storeWithImage(s: Scratch): string {
  fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles([{ ref: REF, layers: [base, top] }, { ref: 'example.com/base:1', layers: [base] }])));
  unpackSync(s.path('a.tar'), { store: s.path('store') });
  return s.path('store');
}

const view = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).sort();

t.test('mount and mountSync take { oci, ref }: the image layers, top first, where it stands', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = storeWithImage(s);
  const [target, over, upper, work] = s.mkdirs('m', 'over', 'upper', 'work');
  fs.writeFileSync(`${over}/extra`, 'x');
  const m = unmountAtEnd(t, await mount({ lower: [over, { oci: store, ref: REF }], upper, work, target }));
  t.same(view(target), ['d', 'd/new', 'etc', 'etc/a', 'extra']);
  t.equal(fs.readFileSync(`${target}/etc/a`, 'utf8'), 'replaced');
  t.ok(m, 'mounted');
  const [t2] = s.mkdirs('m2');
  unmountAtEnd(t, mountSync({ lower: [{ oci: store, ref: REF }], target: t2 }));
  t.same(view(t2), ['d', 'd/new', 'etc', 'etc/a']);
});

t.test('replace takes { oci, ref }', needsReplace, async (t) => {
  const s = scratch(t);
  const store = storeWithImage(s);
  const [target, upper, work, upper2, work2] = s.mkdirs('m', 'upper', 'work', 'upper2', 'work2');
  unmountAtEnd(t, await mount({ lower: [{ oci: store, ref: REF }], upper, work, target }));
  fs.writeFileSync(`${upper2}/extra`, 'x');
  await replace(target, { lower: [{ oci: store, ref: 'example.com/base:1' }], upper: upper2, work: work2 });
  t.same(view(target), ['d', 'd/old', 'etc', 'etc/a', 'etc/gone', 'extra']);
});

t.test('check takes { oci, ref } among its lowers', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = storeWithImage(s);
  const [upper, work] = s.mkdirs('upper', 'work');
  const r = await check({ upper, work, lower: [{ oci: store, ref: REF }] });
  t.same(r.lower.map((l) => l.path), [`${store}/layers/${sha256(top)}`, `${store}/layers/${sha256(base)}`]);
});

t.test('a bad { oci, ref } is refused naming the field; nothing is mounted', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = storeWithImage(s);
  const [target] = s.mkdirs('m');
  await t.rejects(mount({ lower: [{ oci: store, ref: 'example.com/nope:1' }], target }), { code: 'ENOENT', field: 'lower[0]', message: /holds no image 'example.com\/nope:1'/ });
  await t.rejects(mount({ lower: ['/x', { oci: store, ref: '' }], target }), { field: 'lower[1].ref', message: /must not be empty/ });
  await t.rejects(mount({ lower: [{ oci: store, ref: REF, extra: 1 } as never], target }), { message: /lower\[0\]\.extra/ });
  await t.rejects(mount({ lower: [{ oci: 3, ref: REF } as never], target }), { code: 'ERR_INVALID_ARG_TYPE', field: 'lower[0].oci' });
  fs.rmSync(`${store}/layers/${sha256(base)}`, { recursive: true });
  await t.rejects(mount({ lower: [{ oci: store, ref: REF }], target }), { code: 'ENOENT', field: 'lower[0]', message: /lacks layer .* unpack the image again/ });
  t.same(fs.readdirSync(target), []);
});

t.test('ovl mount --oci STORE:REF, split at the first colon', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = storeWithImage(s);
  const [target, over] = s.mkdirs('m', 'over');
  fs.writeFileSync(`${over}/extra`, 'x');
  const r = ovl(['mount', '--lower', over, '--oci', `${store}:${REF}`, target]);
  t.equal(r.status, 0, r.stderr);
  t.teardown(() => void ovl(['umount', target]));
  t.same(view(target), ['d', 'd/new', 'etc', 'etc/a', 'extra']);
  t.match(ovl(['mount', '--oci', store, target]), { status: 1, stderr: /--oci takes STORE:REF/ });
});

t.test('ovl apply takes { oci, ref } in a stack, a relative store from the declaration file', needsOverlay, async (t) => {
  const s = scratch(t);
  storeWithImage(s);
  const [target] = s.mkdirs('m');
  fs.writeFileSync(s.path('stacks.json'), JSON.stringify({ stacks: [{ name: 'app', target, lower: [{ oci: 'store', ref: REF }] }] }));
  const state = s.path('apply.json');
  const r = ovl(['apply', '--state', state, s.path('stacks.json')]);
  t.equal(r.status, 0, r.stderr);
  t.teardown(() => void ovl(['umount', target]));
  t.same(view(target), ['d', 'd/new', 'etc', 'etc/a']);
});
