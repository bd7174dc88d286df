// What a process killed in the middle of a forced (or xattr) whiteout leaves
// behind, `.ovl-wh-*` temporaries, is cleaned by the next such whiteout in
// that directory, unless a live process is making temporaries there (it
// holds a shared flock on the directory), and is never reported as the
// user's meanwhile. The kills are real: a child process loads the test addon
// and is SIGKILLed at a failure point between two system calls.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { changesSync, isWhiteoutSync, toOciSync, whiteout, whiteoutSync, whiteoutsSync } from '../../lib/index';
import { nodeCommand } from '../helpers/child-env';
import { ovl, ovlKilledAt } from '../helpers/cli';
import { isCharDevice00, needsRoot, tempsIn, whyNoXattrWhiteouts } from '../helpers/layer';
import { holdLock } from '../helpers/lock-holder';
import { scratch } from '../helpers/scratch';
import { testAddon, testAddonPath } from '../helpers/test-addon';

const haveTestAddon = fs.existsSync(testAddonPath) ? false : `${testAddonPath} is not built (npm run build:cmake)`;
const skip = needsRoot.skip || haveTestAddon;

// Runs one native call in a child killed at `point`; fails the test if the
// child was not killed there (it finished, or died another way).
function killedAt(t: Test, point: string, call: 'whiteoutSync' | 'whiteoutsSync', request: object): void {
  const script = `const addon = require(${JSON.stringify(testAddonPath)});
    addon.injectFault(${JSON.stringify(point)}, 0, '', true);
    addon[${JSON.stringify(call)}](${JSON.stringify(request)});`;
  const child = spawnSync(...nodeCommand(['-e', script]), { encoding: 'utf8' });
  t.equal(child.signal, 'SIGKILL', `killed at ${point} (${child.stderr.trim() || 'no stderr'})`);
}

function plantLeftovers(dir: string): string[] {
  execFileSync('mknod', [path.join(dir, '.ovl-wh-abc123xy'), 'c', '0', '0']);
  fs.writeFileSync(path.join(dir, '.ovl-wh-0000zzzz'), '');
  fs.writeFileSync(path.join(dir, 'linked'), 'also mine');
  fs.linkSync(path.join(dir, 'linked'), path.join(dir, '.ovl-wh-k33p1ink'));
  return ['.ovl-wh-0000zzzz', '.ovl-wh-abc123xy', '.ovl-wh-k33p1ink'];
}

t.test('a forced whiteout cleans the leftovers in its directory, and only those', { skip }, async (t) => {
  const s = scratch(t);
  s.write({ 'l/d/a': 'a', 'l/d/.ovl-wh-12345678': 'a user file of the same shape', 'l/other/x': 'x' });
  plantLeftovers(s.path('l/d'));
  const elsewhere = plantLeftovers(s.path('l/other'));
  whiteoutSync('d/a', { root: s.path('l'), force: true });
  t.ok(isCharDevice00(s.path('l/d/a')), 'the whiteout is made');
  t.same(tempsIn(s.path('l/d')), ['.ovl-wh-12345678'], 'the leftovers went; the non-empty single-link file of that name is the user\'s and stays');
  t.equal(fs.readFileSync(s.path('l/d/linked'), 'utf8'), 'also mine', 'the entry a leftover was a link of is untouched');
  t.same(tempsIn(s.path('l/other')).sort(), elsewhere, 'another directory is not touched');
});

t.test('a forced whiteout never removes a directory, even one named as a convert\'s temporary', { skip }, async (t) => {
  const s = scratch(t);
  s.write({ 'l/d/a': 'a', 'l/d/.x.ovl-oci-Ab12Cd/f': 'the user\'s', 'l/d/.ovl-oci-Zz9Yy8/g': 'also' });
  whiteoutSync('d/a', { root: s.path('l'), force: true });
  t.equal(fs.readFileSync(s.path('l/d/.x.ovl-oci-Ab12Cd/f'), 'utf8'), 'the user\'s', 'only a convert into that directory cleans those');
  t.equal(fs.readFileSync(s.path('l/d/.ovl-oci-Zz9Yy8/g'), 'utf8'), 'also');
});

t.test('a plain whiteout (no temporary name) leaves leftovers to the next forced one', { skip }, async (t) => {
  const s = scratch(t);
  s.mkdirs('l/d');
  const planted = plantLeftovers(s.path('l/d'));
  whiteoutSync('d/plain', { root: s.path('l') });
  t.same(tempsIn(s.path('l/d')).sort(), planted);
  await whiteout('d/plain', { root: s.path('l'), force: true });
  t.same(tempsIn(s.path('l/d')), []);
});

t.test('temporaries of a live process (its shared lock held) are left alone', { skip }, async (t) => {
  const s = scratch(t);
  const [dir] = s.mkdirs('l/d');
  const planted = plantLeftovers(dir as string);
  // A shared lock on the directory, as a process making temporaries there holds one.
  const holder = await holdLock(t, dir as string, 'shared');
  whiteoutSync('d/a', { root: s.path('l'), force: true });
  whiteoutsSync(s.path('l'), ['d/b', 'd/c'], { force: true });
  t.same(tempsIn(dir as string).sort(), planted, 'nothing removed while another process may be using them');
  await holder.release();
  whiteoutSync('d/a', { root: s.path('l'), force: true });
  t.same(tempsIn(dir as string), [], 'cleaned once the lock is free');
});

function neverReported(t: Test, s: ReturnType<typeof scratch>, layer: string): void {
  const listed = changesSync(s.path(layer)).map((c) => String(c.path));
  t.same(listed.filter((p) => p.includes('.ovl-wh-')), [], 'changes() lists no temporary');
  toOciSync(s.path(layer), s.path(`${layer}-oci`));
  const exported = execFileSync('find', [s.path(`${layer}-oci`)], { encoding: 'utf8' });
  t.notMatch(exported, /\.ovl-wh-/, 'toOci exports no temporary');
}

for (const kind of ['chardev', 'xattr'] as const) {
  t.test(`whiteout(force, ${kind}) killed before its rename: not reported, then cleaned`, { skip: skip || (kind === 'xattr' && whyNoXattrWhiteouts()) }, async (t) => {
    const s = scratch(t);
    s.write({ 'l/d/a': 'mine' });
    killedAt(t, 'whiteout.temp-made', 'whiteoutSync', { root: s.path('l'), path: 'd/a', force: true, kind });
    t.equal(tempsIn(s.path('l/d')).length, 1, 'the kill left one temporary');
    t.equal(fs.readFileSync(s.path('l/d/a'), 'utf8'), 'mine', 'the entry is as it was');
    neverReported(t, s, 'l');
    whiteoutSync('d/b', { root: s.path('l'), force: true, kind });
    t.same(tempsIn(s.path('l/d')), [], 'the next forced whiteout there cleaned it');
  });
}

t.test('whiteouts(force) killed after a replacement: the kept links are not reported, then cleaned', { skip }, async (t) => {
  const s = scratch(t);
  s.write({ 'l/d/a': 'content of a', 'l/d/b': 'content of b', 'l/e/c': 'content of c' });
  killedAt(t, 'whiteouts.replaced', 'whiteoutsSync', { root: s.path('l'), paths: ['d/a', 'd/b', 'e/c'], force: true, kind: 'chardev' });
  t.ok(isCharDevice00(s.path('l/d/a')), 'the first replacement was made');
  t.equal(fs.readFileSync(s.path('l/d/b'), 'utf8'), 'content of b', 'the rest untouched');
  const kept = tempsIn(s.path('l/d'));
  t.equal(kept.length, 2, 'two links kept of the replaced entry');
  t.ok(kept.every((n) => fs.lstatSync(s.path(`l/d/${n}`)).nlink === 2), 'each has a second link: a temporary\'s shape');
  neverReported(t, s, 'l');
  whiteoutsSync(s.path('l'), ['d/b'], { force: true });
  t.same(tempsIn(s.path('l/d')), [], 'cleaned by the next forced batch there');
});

t.test('whiteouts(force) killed while dropping its links: the emptied link is not reported, then cleaned', { skip }, async (t) => {
  const s = scratch(t);
  s.write({ 'l/d/a': 'content of a' });
  killedAt(t, 'whiteouts.dropping-backups', 'whiteoutsSync', { root: s.path('l'), paths: ['d/a'], force: true, kind: 'chardev' });
  t.ok(isCharDevice00(s.path('l/d/a')));
  const kept = tempsIn(s.path('l/d'));
  t.equal(kept.length, 2);
  t.ok(kept.every((n) => fs.lstatSync(s.path(`l/d/${n}`)).size === 0), 'emptied before the unlinks');
  neverReported(t, s, 'l');
  whiteoutSync('d/z', { root: s.path('l'), force: true });
  t.same(tempsIn(s.path('l/d')), []);
});

t.test('a failure after a replacement undoes the batch from the kept links, leaving none', { skip }, async (t) => {
  const s = scratch(t);
  s.write({ 'l/d/a': 'content of a', 'l/d/b': 'content of b' });
  fs.linkSync(s.path('l/d/b'), s.path('l/d/b2'));
  testAddon().injectFault('whiteouts.replaced', 5);
  t.throws(() => testAddon().whiteoutsSync({ root: s.path('l'), paths: ['d/a'], force: true, kind: 'chardev', userxattr: false }), { code: 'EIO', field: 'paths[0]' });
  t.same(testAddon().takeArmedFaults(), [], 'the failure point was reached');
  t.equal(fs.readFileSync(s.path('l/d/a'), 'utf8'), 'content of a', 'the entry is back');
  t.equal(fs.lstatSync(s.path('l/d/a')).nlink, 1, 'with no other link left');
  whiteoutsSync(s.path('l'), ['d/b'], { force: true });
  t.equal(fs.readFileSync(s.path('l/d/b2'), 'utf8'), 'content of b', 'a replaced entry\'s other hard link keeps its content');
  t.same(tempsIn(s.path('l/d')), []);
});

// `ovl whiteout` itself killed at each point, then run again as it was: the
// same whiteouts an uninterrupted run makes, and no temporary left beside them.
const CLI_POINTS = ['whiteouts', 'whiteout.temps-locked', 'whiteout.temp-made', 'whiteouts.replaced', 'whiteouts.dropping-backups'];

for (const kind of ['chardev', 'xattr'] as const) {
  t.test(`ovl whiteout --force (${kind}) killed at each point, then run again`, { skip: skip || (kind === 'xattr' && whyNoXattrWhiteouts()) }, async (t) => {
    for (const point of CLI_POINTS) {
      await t.test(point, async (t) => {
        const s = scratch(t);
        s.write({ 'l/d/a': 'content of a', 'l/d/b': 'content of b', 'l/d/kept': 'k' });
        const args = ['whiteout', '--force', ...(kind === 'xattr' ? ['--xattr'] : []), '--root', s.path('l'), 'd/a', 'd/b'];
        const killed = ovlKilledAt(point, args);
        t.equal(killed.signal, 'SIGKILL', `killed at ${point} (${killed.stderr.trim() || 'exit ' + killed.status})`);
        const again = ovl(args);
        t.equal(again.status, 0, `the rerun succeeds (${again.stderr.trim()})`);
        for (const name of ['a', 'b']) t.equal(isWhiteoutSync(`d/${name}`, { root: s.path('l') }), kind, `d/${name} is a whiteout`);
        t.same(fs.readdirSync(s.path('l/d')).sort(), ['a', 'b', 'kept'], 'no temporary left');
        t.equal(fs.readFileSync(s.path('l/d/kept'), 'utf8'), 'k');
      });
    }
  });
}
