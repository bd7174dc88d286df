// Layers prepared offline with this API, then mounted: the merged view is
// what the kernel makes of them. And the kernel's own whiteouts and opaque
// directories read back as this API reports them.
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { checkSync, isOpaqueSync, isWhiteoutSync, mount, setOpaque, whiteout, whiteouts, type OverlayMount } from '../../lib/index';
import { RESOLVERS, whyNoXattrWhiteouts } from '../helpers/layer';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

// Before 6.7 the same layers are mounted and the test asserts what the kernel
// does instead, and that check() says so: it does not skip.
const lacksXattrWhiteouts = whyNoXattrWhiteouts();

function writeBase(s: Scratch): void {
  s.write({
    'base/etc/passwd-old': 'deleted in the layer above',
    'base/etc/keep': 'kept',
    'base/gone-top': 'deleted at the top level',
    'base/opt/app/a': 'replaced directory',
    'base/opt/app/sub/b': 'replaced directory',
    'base/opt/other': 'kept',
  });
}

async function mounted(t: Test, m: Promise<OverlayMount>): Promise<OverlayMount> {
  const done = await m;
  unmountAtEnd(t, done);
  return done;
}

function checkMerged(t: Test, s: Scratch): void {
  t.same(fs.readdirSync(s.path('merged/etc')).sort(), ['keep'], 'a whiteout hides the lower file from readdir');
  t.notOk(fs.existsSync(s.path('merged/etc/passwd-old')), 'and from lookup');
  t.notOk(fs.existsSync(s.path('merged/gone-top')), 'at the top level too');
  t.equal(s.read('merged/etc/keep'), 'kept');
  t.same(fs.readdirSync(s.path('merged/opt/app')).sort(), ['new'], 'an opaque directory hides every lower entry');
  t.notOk(fs.existsSync(s.path('merged/opt/app/sub/b')));
  t.equal(s.read('merged/opt/other'), 'kept', 'its siblings still show through');
}

for (const resolver of RESOLVERS) {
  t.test(`an upper layer built offline: whiteouts and an opaque dir (${resolver})`, needsOverlay, async (t) => {
    const s = scratch(t);
    writeBase(s);
    const [upper, work, target] = s.mkdirs('upper', 'work', 'merged', 'upper/etc');
    s.write({ 'upper/opt/app/new': 'the replacement' });
    await whiteouts(upper, ['etc/passwd-old'], { resolver });
    await whiteout('gone-top', { root: upper, resolver });
    await setOpaque('opt/app', { root: upper, resolver });
    const m = await mounted(t, mount({ lower: [s.path('base')], upper, work, target }));
    checkMerged(t, s);
    await m.unmount();
  });
}

// What a kernel before 6.7 makes of the same layer: each xattr whiteout is an
// ordinary empty file, and check() reports, from its probe, that they are not honoured.
function checkShownThrough(t: Test, s: Scratch, upper: string, work: string): void {
  t.same(fs.readdirSync(s.path('merged/etc')).sort(), ['keep', 'passwd-old'], 'the whiteout shows as a file');
  t.equal(s.read('merged/etc/passwd-old'), '', 'an empty one');
  t.equal(s.read('merged/gone-top'), '', 'at the top level too');
  const report = checkSync({ upper, work });
  t.match(report.kernel, { xattrWhiteouts: false, xattrWhiteoutsFrom: 'probe' }, 'check() probed it');
  const finding = report.findings.find((f) => f.id === 'kernel-xattr-whiteouts');
  t.match(finding, { status: 'info', summary: /not honoured \(probed\)/, meaning: /convert them to 0\/0 character devices/ }, 'and says what to do');
}

t.test(`xattr whiteouts, in a layer mounted as a lower${lacksXattrWhiteouts ? ` (${lacksXattrWhiteouts}: shown through)` : ''}`, needsOverlay, async (t) => {
  for (const userxattr of [false, true]) {
    await t.test(userxattr ? 'user.overlay.* with the userxattr mount option' : 'trusted.overlay.*', async (t) => {
      const s = scratch(t);
      writeBase(s);
      const [layer, target] = s.mkdirs('layer', 'merged', 'layer/etc');
      s.write({ 'layer/opt/app/new': 'the replacement' });
      await whiteouts(layer, ['etc/passwd-old'], { kind: 'xattr', userxattr });
      await whiteout('gone-top', { root: layer, kind: 'xattr', userxattr });
      await setOpaque('opt/app', { root: layer, userxattr });
      t.equal(isOpaqueSync(layer, { userxattr }), 'x', "the layer's root holds one, so it is marked 'x'");
      const m = await mounted(t, mount({ lower: [layer, s.path('base')], target, userxattr }));
      if (lacksXattrWhiteouts) checkShownThrough(t, s, ...(s.mkdirs('upper', 'work') as [string, string]));
      else checkMerged(t, s);
      await m.unmount();
    });
  }
});

t.test('the whiteouts and opaque dirs the kernel makes read back', needsOverlay, async (t) => {
  for (const userxattr of [false, true]) {
    await t.test(userxattr ? 'with userxattr' : 'trusted.overlay.*', async (t) => {
      const s = scratch(t);
      s.write({ 'lower/file': 'x', 'lower/dir/inside': 'y', 'lower/keep': 'z' });
      const [upper, work, target] = s.mkdirs('upper', 'work', 'merged');
      const m = await mounted(t, mount({ lower: [s.path('lower')], upper, work, target, userxattr }));
      fs.rmSync(s.path('merged/file'));
      fs.rmSync(s.path('merged/dir'), { recursive: true });
      fs.mkdirSync(s.path('merged/dir'));
      await m.unmount();
      t.equal(isWhiteoutSync('file', { root: upper, userxattr }), 'chardev', 'deleting a lower file left a whiteout isWhiteout recognises');
      t.equal(isOpaqueSync('dir', { root: upper, userxattr }), 'y', 'recreating a lower dir left it opaque');
      t.equal(isWhiteoutSync('keep', { root: upper }), false);
      t.equal(isOpaqueSync('dir', { root: upper, userxattr: !userxattr }), false, 'in the namespace the mount used, not the other');
    });
  }
});

t.test('an xattr whiteout in an upper layer (informational)', needsOverlay, async (t) => {
  // Not honoured in an upper (6.18: readdir lists the name, lookup says ENOENT); recorded, not asserted.
  const s = scratch(t);
  s.write({ 'lower/d/gone': 'x' });
  const [upper, work, target] = s.mkdirs('upper', 'work', 'merged', 'upper/d');
  await whiteout('d/gone', { root: upper, kind: 'xattr' });
  const m = await mounted(t, mount({ lower: [s.path('lower')], upper, work, target }));
  const listed = fs.readdirSync(s.path('merged/d')).includes('gone');
  const found = fs.existsSync(s.path('merged/d/gone'));
  t.comment(`this kernel, xattr whiteout in the upper: readdir ${listed ? 'lists' : 'hides'} it, lookup ${found ? 'finds' : 'hides'} it`);
  await m.unmount();
  t.pass('recorded');
});
