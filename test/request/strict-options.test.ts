// Every options object refuses a key it does not know, naming it, before
// anything is touched; every value of the wrong JavaScript type is refused
// in one shape (TypeError, ERR_INVALID_ARG_TYPE, field), printed as itself.
import * as fs from 'node:fs';
import t from 'tap';
import * as ovl from '../../lib/index';
import { mountsOn } from '../../lib/internal';
import { needsOverlay, scratch } from '../helpers/scratch';

const unknownKey = (field: string) => ({ name: 'OverlayError', code: 'EINVAL', field, message: new RegExp(`${field}: is not an option of`) });
const wrongType = (field: string, got: RegExp) => ({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', field, message: got });

t.test('a typo in mount or replace options is refused and nothing is mounted', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'merged');
  const lower = [a!, b!];
  t.throws(() => ovl.mountSync({ lower, target: target!, readonly: true } as never), unknownKey('readonly'));
  await t.rejects(ovl.mount({ lower, target: target!, noExec: true } as never), unknownKey('noExec'));
  t.same(mountsOn(target!), [], 'nothing was mounted');
  const m = ovl.mountSync({ lower, target: target! });
  t.throws(() => ovl.replaceSync(target!, { lower, redirect_dir: 'on' } as never), unknownKey('redirect_dir'));
  t.throws(() => ovl.replaceSync(target!, { lower, target: target! } as never), unknownKey('target'), 'replace takes its target apart');
  t.throws(() => m.replaceSync({ lower, metaCopy: true } as never), unknownKey('metaCopy'));
  t.equal(mountsOn(target!).length, 1, 'the mount is as it was');
  t.throws(() => ovl.remountSync(target!, { readonly: true } as never), { code: 'EINVAL', field: 'readonly' });
  m.unmountSync();
});

t.test('a typo in umount options is refused and nothing is unmounted', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, target] = s.mkdirs('a', 'b', 'merged');
  ovl.mountSync({ lower: [a!, b!], target: target! });
  t.throws(() => ovl.umountSync(target!, { lazy: true } as never), unknownKey('lazy'));
  await t.rejects(ovl.umount(target!, { Detach: true } as never), unknownKey('Detach'));
  t.throws(() => ovl.umountSync(target!, null as never), wrongType('options', /got null/));
  t.equal(mountsOn(target!).length, 1, 'still mounted');
  ovl.umountSync(target!);
});

t.test('the layer calls, check, listMounts and fromGraphDriver refuse unknown keys before touching anything', async (t) => {
  const dir = fs.mkdtempSync('/tmp/ovl-strict-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(`${dir}/d`);
  t.throws(() => ovl.whiteoutSync(`${dir}/x`, { Force: true } as never), unknownKey('Force'));
  await t.rejects(ovl.whiteouts(dir, ['x'], { kinds: 'xattr' } as never), unknownKey('kinds'));
  t.throws(() => ovl.whiteoutsSync(dir, ['x'], { root: dir } as never), { code: 'EINVAL', field: 'root' });
  t.throws(() => ovl.setOpaqueSync(`${dir}/d`, { userXattr: true } as never), unknownKey('userXattr'));
  await t.rejects(ovl.isOpaque(`${dir}/d`, { roots: dir } as never), unknownKey('roots'));
  t.throws(() => ovl.clearOpaqueSync(`${dir}/d`, { resolve: 'walk' } as never), unknownKey('resolve'));
  t.throws(() => ovl.isWhiteoutSync(`${dir}/x`, { force: true } as never), unknownKey('force'), 'isWhiteout takes no force');
  t.same(fs.readdirSync(dir), ['d'], 'nothing was made');
  t.throws(() => ovl.checkSync({ upper: dir, work: dir, userXattr: true } as never), unknownKey('userXattr'));
  t.throws(() => ovl.listMountsSync({ targets: '/' } as never), unknownKey('targets'));
  await t.rejects(ovl.listMounts({ mountPoint: '/' } as never), unknownKey('mountPoint'));
  t.throws(() => ovl.fromGraphDriver({ Name: 'overlay2', Data: { LowerDir: dir } }, { readonly: true } as never), unknownKey('readonly'));
});

t.test('values of the wrong type: one shape, the value printed as itself', async (t) => {
  t.throws(() => ovl.mountSync({ lower: ['/a', , '/b'], target: '/t' } as never), wrongType('lower[1]', /an empty slot/));
  t.throws(() => ovl.mountSync(null as never), wrongType('options', /got null/));
  t.throws(() => ovl.mountSync({ lower: ['/a', 7n], target: '/t' } as never), wrongType('lower[1]', /got the bigint 7n/));
  t.throws(() => ovl.mountSync({ lower: ['/a', '/b'], target: '/t', idmap: { uidMap: [[0, NaN, 1]] } }), { code: 'EINVAL', field: 'idmap.uidMap[0][1]', message: /got the number NaN/ });
  t.throws(() => ovl.mountSync({ lower: ['/a', '/b'], target: '/t', idmap: { uidMap: [[0, 5n, 1]] } } as never), { code: 'EINVAL', field: 'idmap.uidMap[0][1]', message: /got the bigint 5n/ });
  t.throws(() => ovl.mountSync({ lower: ['/a', '/b'], target: '/t', xino: NaN } as never), { code: 'EINVAL', field: 'xino', message: /got the number NaN/ });
  t.throws(() => ovl.formatOptions(null as never), wrongType('options', /got null/));
  t.throws(() => ovl.formatOptions({ lower: '/a' } as never), wrongType('lower', /got the string "\/a"/));
  t.throws(() => ovl.formatOptions({ lower: ['/a', 1] } as never), wrongType('lower[1]', /got the number 1/));
  t.throws(() => ovl.formatOptions({ upper: 3 } as never), wrongType('upper', /got the number 3/));
  t.throws(() => ovl.formatOptions({ lower: ['/a'], bogus: 1 } as never), unknownKey('bogus'));
  t.throws(() => ovl.formatOptions({ index: 'on' } as never), wrongType('index', /got the string "on"/));
  t.throws(() => ovl.escapePath(undefined as never), wrongType('path', /got undefined/));
  t.throws(() => ovl.escapePath(Buffer.from('/a') as never), wrongType('path', /got an object/));
  t.throws(() => ovl.parseMountinfo(1 as never), wrongType('text', /got the number 1/));
  t.throws(() => ovl.checkSync(null as never), { code: 'ERR_INVALID_ARG_TYPE', field: 'options' });
  t.throws(() => ovl.checkSync({ upper: '/u', work: '/w', lower: ['/a', , '/b'] } as never), wrongType('lower[1]', /an empty slot/));
  t.throws(() => ovl.whiteoutsSync('/tmp', ['a', , 'b'] as never), wrongType('paths[1]', /an empty slot/));
  t.throws(() => ovl.listMountsSync({ target: 5 } as never), wrongType('target', /got the number 5/));
  t.throws(() => ovl.fromGraphDriver({}, null as never), wrongType('options', /got null/));
  t.equal(ovl.formatOptions({ lower: ['/a,b', '/c:d'], readOnly: true }), 'lowerdir=/a\\,b:/c\\:d,ro', 'well-typed options still format');
});
