// Sealed layers `{ sealed, store, digest? }`: the image mounted as an erofs
// lower over its store (a data-only layer from 6.5, the bottom lower
// before), alone and read-only or under an upper, through mount, replace,
// apply and check; the image's digest checked before the kernel sees it; and
// verity refused where the kernel or the store cannot give it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import t, { type Test } from 'tap';
import * as path from 'node:path';
import { apply, applySync, check, mount, mountSync, replaceSync, type Declaration, type OverlayMount } from '../../lib/index';
import { native } from '../../lib/core/native';
import { erofsSuperblocks, loopsBackedBy, needsImages } from '../helpers/images';
import { makeSealed } from './sealed-images';
import { sealedFeatures, storesAsFor } from '../../lib/seal/sealed-options';
import { scratch } from '../helpers/scratch';
import { superOptions } from '../helpers/mounts';

const [major = 0, minor = 0] = os.release().split('.').map((n) => parseInt(n, 10));
const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
const STORES_AS = atLeast(6, 5) ? 'data' : 'lower';

const FILES = { 'etc/os-release': 'ID=sealed\n', 'usr/bin/tool': Buffer.alloc(10000, 7), 'empty': '' };

function unmountOnEnd(t: Test, m: OverlayMount): OverlayMount {
  t.teardown(() => {
    if (m.mounted) m.unmountSync();
  });
  return m;
}

t.test('one sealed layer, no upper: read-only, the files read from the store', needsImages, async (t) => {
  const s = scratch(t);
  const sealed = makeSealed(s, 'a', FILES);
  const [target] = s.mkdirs('m');
  const erofsBefore = erofsSuperblocks();
  const m = unmountOnEnd(t, mountSync({ lower: [{ sealed: sealed.image, store: sealed.store }], target: target! }));
  t.equal(fs.readFileSync(`${target}/etc/os-release`, 'utf8'), 'ID=sealed\n');
  t.same(fs.readFileSync(`${target}/usr/bin/tool`), Buffer.alloc(10000, 7));
  t.equal(fs.statSync(`${target}/empty`).size, 0);
  if (STORES_AS === 'data') t.same(fs.readdirSync(target!).sort(), ['empty', 'etc', 'usr'], 'the store is data-only: its xx/ directories do not show');
  t.throws(() => fs.writeFileSync(`${target}/new`, 'x'), { code: 'EROFS' }, 'read-only');
  t.same(m.sealed, {
    metacopy: true,
    redirectDir: 'follow',
    verity: 'off',
    storesAs: STORES_AS,
    layers: [{ field: 'lower[0]', image: sealed.image, store: sealed.store }],
  });
  t.same(m.images.map((i) => [i.image, i.type]), [[sealed.image, 'erofs']]);
  m.unmountSync();
  t.same(loopsBackedBy(sealed.image), [], 'no loop device left');
  t.same([...erofsSuperblocks()].filter((id) => !erofsBefore.has(id)), [], 'no erofs superblock left');
});

t.test("verity: 'off' asked mounts on every kernel (overlay's default, not sent: 6.1 knows no verity=)", needsImages, async (t) => {
  const s = scratch(t);
  const sealed = makeSealed(s, 'a', FILES);
  const [target] = s.mkdirs('m');
  const m = unmountOnEnd(t, mountSync({ lower: [{ sealed: sealed.image, store: sealed.store }], target: target!, verity: 'off' }));
  t.equal(m.sealed?.verity, 'off');
  t.equal(fs.readFileSync(`${target}/etc/os-release`, 'utf8'), 'ID=sealed\n');
  t.notOk(superOptions(target!).some((o) => o.startsWith('verity=')), 'no verity= in the superblock options');
});

t.test('under an upper: redirect_dir=on, writes go up, the sealed files stay', needsImages, async (t) => {
  const s = scratch(t);
  const sealed = makeSealed(s, 'a', FILES);
  const [target, upper, work] = s.mkdirs('m', 'u', 'w');
  const m = unmountOnEnd(t, await mount({ lower: [{ sealed: sealed.image, store: sealed.store }], upper: upper!, work: work!, target: target! }));
  t.equal(m.sealed?.redirectDir, 'on');
  fs.appendFileSync(`${target}/etc/os-release`, 'VERSION=2\n');
  t.equal(fs.readFileSync(`${target}/etc/os-release`, 'utf8'), 'ID=sealed\nVERSION=2\n', 'a sealed file copied up and changed');
  t.equal(fs.readFileSync(`${sealed.store}/${sealed.objects['etc/os-release']}`, 'utf8'), 'ID=sealed\n', 'its object is untouched');
  t.equal(fs.readFileSync(`${upper}/etc/os-release`, 'utf8'), 'ID=sealed\nVERSION=2\n');
  await m.unmount();
});

t.test('two sealed layers over one store, and replace onto another sealed image', needsImages, async (t) => {
  const s = scratch(t);
  const base = makeSealed(s, 'base', { 'a': 'base a', 'b': 'base b' });
  const top = makeSealed(s, 'top', { 'a': 'top a' }, base.store);
  const next = makeSealed(s, 'next', { 'a': 'next a' }, base.store);
  const [target] = s.mkdirs('m');
  const m = unmountOnEnd(t, mountSync({ lower: [{ sealed: top.image, store: top.store }, { sealed: base.image, store: base.store }], target: target! }));
  t.equal(fs.readFileSync(`${target}/a`, 'utf8'), 'top a');
  t.equal(fs.readFileSync(`${target}/b`, 'utf8'), 'base b');
  t.equal(m.sealed?.layers.length, 2);
  if (!atLeast(6, 8)) return; // replace needs MOVE_MOUNT_BENEATH and lowerdir+
  const r = unmountOnEnd(t, replaceSync(target!, { lower: [{ sealed: next.image, store: next.store }, { sealed: base.image, store: base.store }] }));
  t.equal(fs.readFileSync(`${target}/a`, 'utf8'), 'next a', 'the replacement shows');
  t.equal(r.sealed?.layers[0]?.image, next.image);
  r.unmountSync();
});

t.test('digest: the image is measured before mounting; a mismatch is refused naming the layer', needsImages, async (t) => {
  const s = scratch(t);
  const sealed = makeSealed(s, 'a', FILES);
  const other = makeSealed(s, 'b', { x: 'other' });
  const [target] = s.mkdirs('m');
  const digest = `sha256:${native.fsverityDigestSync(sealed.image)}`;
  const m = unmountOnEnd(t, mountSync({ lower: [{ sealed: sealed.image, store: sealed.store, digest: digest.toUpperCase().replace('SHA256', 'sha256') }], target: target! }));
  t.equal(m.sealed?.layers[0]?.digest, digest, 'the digest it was measured against, in lower case');
  m.unmountSync();
  const wrong = `sha256:${native.fsverityDigestSync(other.image)}`;
  const lower = [{ sealed: sealed.image, store: sealed.store, digest: wrong }];
  t.throws(() => mountSync({ lower, target: target! }), { code: 'EINVAL', field: 'lower[0].digest', path: sealed.image, message: /fs-verity digest is sha256:[0-9a-f]{64}, not the sha256:/ });
  await t.rejects(mount({ lower, target: target! }), { code: 'EINVAL', field: 'lower[0].digest' });
  t.notOk(fs.readdirSync(target!).length, 'nothing was mounted');
  t.same(loopsBackedBy(sealed.image), []);
});

t.test('verity: refused where the kernel or the store cannot give it, naming why', needsImages, async (t) => {
  const s = scratch(t);
  const sealed = makeSealed(s, 'a', FILES);
  const [target] = s.mkdirs('m');
  const lower = [{ sealed: sealed.image, store: sealed.store }];
  if (!atLeast(6, 6)) {
    t.throws(() => mountSync({ lower, target: target!, verity: 'require' }), { code: 'ENOTSUP', field: 'verity', message: new RegExp(`Linux 6\\.6\\+\\), this kernel is ${os.release().replace(/[.+]/g, '\\$&')}`) });
    return;
  }
  const probe = native.probeStoreVeritySync(sealed.store);
  t.not(probe[2], 0, 'the test store has no fs-verity on its objects');
  for (const verity of ['on', 'require'] as const) {
    const message = new RegExp(`verity=${verity}: (object [0-9a-f]{2}/[0-9a-f]{62} has no fs-verity enabled|the store's filesystem \\(\\w+\\) has no fs-verity)`);
    await t.rejects(mount({ lower, target: target!, verity }), { code: 'ENOTSUP', field: 'lower[0].store', path: sealed.store, message });
  }
  t.notOk(fs.readdirSync(target!).length, 'nothing was mounted');
});

t.test('check() probes a sealed layer as its image and its store', needsImages, async (t) => {
  const s = scratch(t);
  const sealed = makeSealed(s, 'a', FILES);
  const [upper, work] = s.mkdirs('u', 'w');
  const result = await check({ upper: upper!, work: work!, lower: [{ sealed: sealed.image, store: sealed.store }] });
  t.same(result.lower.map((l) => l.path), [sealed.image, sealed.store]);
});

t.test('a sealed layer is checked by its fields before anything is opened', async (t) => {
  const base = { target: '/x', lower: [{ sealed: '/i.img', store: '/s' }] };
  const refused = (options: object, field: string, message: RegExp): void => {
    t.throws(() => mountSync(options as never), { code: 'EINVAL', field, message }, field);
  };
  refused({ ...base, lower: [{ sealed: '/i.img', store: '/s', typo: 1 }] }, 'lower[0].typo', /typo/);
  t.throws(() => mountSync({ ...base, lower: [{ sealed: '/i.img' }] } as never), { code: 'ERR_INVALID_ARG_TYPE', message: /lower\[0\]\.store must be a path/ });
  refused({ ...base, lower: [{ sealed: '/i.img', store: '/s', digest: 'md5:00' }] }, 'lower[0].digest', /sha256:<64 hex digits>/);
  refused({ ...base, data: [{ sealed: '/i.img', store: '/s' }] }, 'data[0]', /belongs in lower/);
  refused({ ...base, metacopy: false }, 'metacopy', /needs metacopy=on/);
  refused({ ...base, redirectDir: 'off' }, 'redirectDir', /redirect_dir=on or follow/);
});

t.test('apply: a declared stack with a sealed layer (relative paths), then a new image is a replace; a wrong digest changes nothing', needsImages, async (t) => {
  const s = scratch(t);
  const v1 = makeSealed(s, 'v1', { 'version': 'one' });
  const v2 = makeSealed(s, 'v2', { 'version': 'two' }, v1.store);
  s.mkdirs('m', 'state');
  const stateFile = s.path('state', 'apply.json');
  const declare = (image: string, digest?: string): Declaration => ({
    stacks: [{ name: 'app', target: s.path('m'), lower: [{ sealed: path.relative(process.cwd(), image), store: v1.store, ...(digest ? { digest } : {}) }] }],
  });
  t.teardown(() => applySync({ stacks: [] }, { stateFile }));
  await apply(declare(v1.image), { stateFile });
  t.equal(fs.readFileSync(s.path('m', 'version'), 'utf8'), 'one');
  if (!atLeast(6, 8)) return; // a replace needs MOVE_MOUNT_BENEATH and lowerdir+
  const bad = `sha256:${native.fsverityDigestSync(v1.image)}`;
  await t.rejects(apply(declare(v2.image, bad), { stateFile }), { code: 'EINVAL', field: 'stacks[0].lower[0].digest' });
  t.equal(fs.readFileSync(s.path('m', 'version'), 'utf8'), 'one', 'the wrong image was not switched in');
  const result = await apply(declare(v2.image, `sha256:${native.fsverityDigestSync(v2.image)}`), { stateFile });
  t.match(result.actions, [{ name: 'app', action: 'replace' }]);
  t.equal(fs.readFileSync(s.path('m', 'version'), 'utf8'), 'two');
});

t.test('the kernel rule for verity, on any kernel: before 6.6 refused naming the release; stores as data from 6.5', async (t) => {
  t.throws(() => sealedFeatures({ verity: 'on' }, false, '6.5.13-amd64'), { code: 'ENOTSUP', field: 'verity', message: /\(Linux 6\.6\+\), this kernel is 6\.5\.13-amd64/ });
  t.same(sealedFeatures({ verity: 'require' }, true, '6.6.0'), { metacopy: true, redirectDir: 'on' });
  t.same(sealedFeatures({ verity: 'off' }, false, '6.1.0-57-amd64'), { metacopy: true, redirectDir: 'follow' });
  t.same([storesAsFor('6.1.0-57-amd64'), storesAsFor('6.5.0'), storesAsFor('7.0.1')], ['lower', 'data', 'data']);
});
