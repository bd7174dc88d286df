// fromOci/toOci, proven on the kernel: a converted OCI layer mounted over its
// base shows what applying the layer by hand gives; an upper's OCI form
// converts back to an equivalent layer.
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { fromOci, fromOciSync, isOpaqueSync, isWhiteoutSync, mount, toOci, toOciSync, type WhiteoutKind } from '../../lib/index';
import { needsRoot, whyNoXattrWhiteouts } from '../helpers/layer';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';
import { applyOciByHand, snapshot } from '../helpers/tree';

function writeBase(s: Scratch): void {
  s.write({
    'base/etc/passwd': 'root:x:0:0',
    'base/etc/deleted': 'deleted by the layer',
    'base/etc/keep': 'kept',
    'base/opt/app/a': 'old a',
    'base/opt/app/sub/b': 'old b',
    'base/replaced/old': 'the layer deletes this directory and makes it again',
    'base/gone': 'deleted at the top',
    'base/usr/bin/tool': 'kept',
  });
  fs.symlinkSync('tool', s.path('base/usr/bin/alias'));
}

function writeOciLayer(s: Scratch, dir: string): void {
  s.write({
    [`${dir}/etc/.wh.deleted`]: '',
    [`${dir}/etc/passwd`]: 'root:x:0:0\nme:x:1000:1000',
    [`${dir}/opt/app/.wh..wh..opq`]: '',
    [`${dir}/opt/app/new`]: 'the replacement',
    [`${dir}/opt/app/.wh.a`]: '',
    [`${dir}/.wh.gone`]: '',
    [`${dir}/.wh.replaced`]: '',
    [`${dir}/replaced/fresh`]: 'made again',
    [`${dir}/newdir/f`]: 'added',
    [`${dir}/usr/bin/.wh.never-was`]: '',
  });
  fs.chmodSync(s.path(dir, 'newdir/f'), 0o750);
  fs.symlinkSync('../etc/passwd', s.path(dir, 'newdir/link'));
}

async function mergedView(t: Test, s: Scratch, lower: string[], name: string): Promise<ReturnType<typeof snapshot>> {
  const [target] = s.mkdirs(name);
  const m = await mount({ lower, target });
  unmountAtEnd(t, m);
  const view = snapshot(target as string);
  await m.unmount();
  return view;
}

function expectedTree(s: Scratch): ReturnType<typeof snapshot> {
  fs.cpSync(s.path('base'), s.path('expected'), { recursive: true, verbatimSymlinks: true });
  applyOciByHand(s.path('oci'), s.path('expected'));
  return snapshot(s.path('expected'));
}

// Before 6.7 the kernel shows an xattr whiteout as the empty file it is: the
// merged view then has one where the hand-applied tree has nothing.
const lacksXattrWhiteouts = whyNoXattrWhiteouts();

function withWhiteoutsShown(expected: ReturnType<typeof snapshot>, layer: string): ReturnType<typeof snapshot> {
  const shown = { ...expected };
  for (const [rel, entry] of Object.entries(snapshot(layer))) {
    if (entry.type === 'file' && isWhiteoutSync(rel, { root: layer }) === 'xattr') shown[rel] = entry;
  }
  return shown;
}

for (const kind of ['chardev', 'xattr'] as WhiteoutKind[]) {
  const shownThrough = kind === 'xattr' && lacksXattrWhiteouts;
  t.test(`fromOci (${kind}): mounted over its base, the layer shows what applying it by hand gives${shownThrough ? ` (${shownThrough}: whiteouts shown as empty files)` : ''}`, needsOverlay, async (t) => {
    const s = scratch(t);
    writeBase(s);
    writeOciLayer(s, 'oci');
    const expected = expectedTree(s);
    t.notOk('etc/deleted' in expected, 'the hand-applied tree lost what the layer deleted');
    fs.cpSync(s.path('oci'), s.path('layer'), { recursive: true, verbatimSymlinks: true });
    await fromOci(s.path('layer'), { kind });
    t.same(Object.keys(snapshot(s.path('layer'))).filter((p) => p.includes('.wh.')), [], 'no OCI marker is left');
    t.equal(isWhiteoutSync('etc/deleted', { root: s.path('layer') }), kind);
    t.equal(isOpaqueSync(s.path('layer/opt/app')), 'y');
    t.equal(isOpaqueSync(s.path('layer/replaced')), 'y', 'a name deleted and made again in the same layer replaces the lower directory');
    t.equal(isWhiteoutSync('opt/app/a', { root: s.path('layer') }), false, 'inside an opaque directory a whiteout is not needed');
    const merged = await mergedView(t, s, [s.path('layer'), s.path('base')], 'merged');
    if (!shownThrough) return void t.same(merged, expected);
    const shown = withWhiteoutsShown(expected, s.path('layer'));
    t.ok(Object.keys(shown).length > Object.keys(expected).length, 'the layer has xattr whiteouts to show');
    t.same(merged, shown);
  });
}

t.test('toOci then fromOci: an equivalent layer, and the OCI form it started as', needsOverlay, async (t) => {
  const s = scratch(t);
  writeBase(s);
  writeOciLayer(s, 'oci');
  const original = snapshot(s.path('oci'));
  const expected = expectedTree(s);
  fs.cpSync(s.path('oci'), s.path('layer'), { recursive: true, verbatimSymlinks: true });
  fromOciSync(s.path('layer'));
  const { skipped } = await toOci(s.path('layer'), s.path('back'));
  t.same(skipped, []);
  const back = snapshot(s.path('back'));
  // The layer made `replaced` opaque rather than keep a whiteout of it; opt/app's whiteout of `a` was redundant.
  const expectedBack = { ...original, 'replaced/.wh..wh..opq': { type: 'file', content: '', mode: 0o644 } } as typeof original;
  delete expectedBack['.wh.replaced'];
  delete expectedBack['opt/app/.wh.a'];
  t.same(back, expectedBack, 'the OCI form written back');
  t.equal(fs.statSync(s.path('back/newdir/f')).mode & 0o7777, 0o750, 'modes kept');
  fromOciSync(s.path('back'));
  t.same(await mergedView(t, s, [s.path('back'), s.path('base')], 'merged'), expected, 'converted back, it mounts to the same view');
});

t.test('toOci keeps owners and times, and refuses a dest in use', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/f': 'x', 'dest-used/x': '' });
  fs.chownSync(s.path('upper/f'), 1234, 5678);
  fs.utimesSync(s.path('upper/f'), 1000, 2000);
  s.mkdirs('empty');
  toOciSync(s.path('upper'), s.path('empty'));
  const st = fs.statSync(s.path('empty/f'));
  t.same([st.uid, st.gid, st.mtimeMs], [1234, 5678, 2000000]);
  t.throws(() => toOciSync(s.path('upper'), s.path('dest-used')), { code: 'ENOTEMPTY', field: 'dest' });
  t.throws(() => toOciSync(s.path('upper'), s.path('upper/f')), { code: 'EINVAL', field: 'dest' }, 'inside upper');
  s.write({ 'file': '' });
  t.throws(() => toOciSync(s.path('upper'), s.path('file')), { code: 'EEXIST', field: 'dest' });
  s.write({ 'upper/.wh.weird': '' });
  t.throws(() => toOciSync(s.path('upper'), s.path('d2')), { code: 'EINVAL', message: /\.wh\.weird/ }, 'a name OCI reserves cannot be written');
});

t.test('fromOci refuses what it cannot convert, before changing anything', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'oci/d/.wh.x': '', 'oci/z/.wh..wh.plnk': '' });
  const before = snapshot(s.path('oci'));
  await t.rejects(fromOci(s.path('oci')), { code: 'EINVAL', field: '/z/.wh..wh.plnk' });
  t.same(snapshot(s.path('oci')), before, 'untouched');
});

t.test('a symlink in the layer is never followed: nothing is written outside', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'outside/.wh.victim': '', 'outside/victim': 'mine', 'outside/.wh..wh..opq': '', 'outside/sub/.wh.x': '' });
  const outsideBefore = snapshot(s.path('outside'));
  s.mkdirs('oci/real');
  fs.symlinkSync(s.path('outside'), s.path('oci/a'));
  fs.symlinkSync('../outside', s.path('oci/real/up'));
  s.write({ 'oci/.wh.b': '', 'oci/real/.wh.c': '' });
  fs.symlinkSync(s.path('outside/sub'), s.path('oci/b'));
  fromOciSync(s.path('oci'));
  t.same(snapshot(s.path('outside')), outsideBefore, 'outside unchanged');
  t.equal(isOpaqueSync(s.path('outside')), false);
  t.equal(fs.lstatSync(s.path('oci/a')).isSymbolicLink(), true, 'the symlinks stay symlinks');
  t.equal(isWhiteoutSync('real/c', { root: s.path('oci') }), 'chardev');
  toOciSync(s.path('oci'), s.path('back'));
  t.same(snapshot(s.path('outside')), outsideBefore, 'outside unchanged by toOci');
  t.same(snapshot(s.path('back')).a, { type: 'symlink', target: s.path('outside') }, 'copied as a link, not through it');
});
