// whiteouts(root, paths): many whiteouts in one native call, stopping at the
// first failure and saying which path it was.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { isOpaqueSync, isWhiteoutSync, whiteouts, whiteoutsSync, type WhiteoutsError } from '../../lib/index';
import { isCharDevice00, needsRoot, RESOLVERS, tempsIn } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

t.test('thousands in one call, spread over directories', needsRoot, async (t) => {
  const s = scratch(t);
  const dirs = Array.from({ length: 20 }, (_, d) => `usr/share/d${d}`);
  s.mkdirs(...dirs.map((d) => `layer/${d}`));
  const paths = dirs.flatMap((d) => Array.from({ length: 150 }, (_, i) => `${d}/f${i}`));
  await whiteouts(s.path('layer'), paths);
  t.equal(paths.filter((p) => !isCharDevice00(s.path('layer', p))).length, 0, `${paths.length} char devices 0/0`);
  whiteoutsSync(s.path('layer'), paths.slice(0, 40), { kind: 'xattr', force: true });
  t.equal(paths.slice(0, 40).filter((p) => isWhiteoutSync(p, { root: s.path('layer') }) !== 'xattr').length, 0, 'force in a batch replaces');
});

for (const resolver of RESOLVERS) {
  t.test(`all or nothing: a failure undoes the ones made and names the path (${resolver})`, needsRoot, async (t) => {
    const s = scratch(t);
    s.write({ 'layer/a/exists': 'keep' });
    const root = s.path('layer');
    const err = (await whiteouts(root, ['a/one', 'a/two', 'a/exists', 'a/three'], { resolver }).catch((e: unknown) => e)) as WhiteoutsError;
    t.match(err, { name: 'OverlayError', code: 'EEXIST', syscall: 'mknodat', path: s.path('layer/a/exists'), field: 'paths[2]', index: 2, detail: [] });
    t.same(fs.readdirSync(s.path('layer/a')), ['exists'], 'the ones made before it are removed again, no temporary stays');
    t.equal(s.read('layer/a/exists'), 'keep', 'the failing entry is untouched');

    // A missing parent is found before anything is made.
    t.throws(() => whiteoutsSync(root, ['a/four', 'missing/x', 'a/five'], { resolver }), {
      code: 'ENOENT',
      path: s.path('layer/missing/x'),
      field: 'paths[1]',
      index: 1,
    });
    t.same(fs.readdirSync(s.path('layer/a')), ['exists']);
    // The same path twice: the second finds the first.
    t.throws(() => whiteoutsSync(root, ['a/six', 'a/six'], { resolver }), { code: 'EEXIST', index: 1 });
    t.same(fs.readdirSync(s.path('layer/a')), ['exists']);
  });
}

t.test('with force, a failure puts back every entry replaced', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'layer/a/f1': 'one', 'layer/a/f2': 'two' });
  fs.symlinkSync('f1', s.path('layer/a/link'));
  fs.mkdirSync(s.path('layer/a/dir'));
  const root = s.path('layer');
  const inode = fs.lstatSync(s.path('layer/a/f1')).ino;
  const err = (await whiteouts(root, ['a/f1', 'a/new', 'a/link', 'a/f1', 'a/f2', 'a/dir'], { force: true }).catch((e: unknown) => e)) as WhiteoutsError;
  t.match(err, { name: 'OverlayError', code: 'EISDIR', field: 'paths[5]', index: 5 });
  t.same(fs.readdirSync(s.path('layer/a')).sort(), ['dir', 'f1', 'f2', 'link'], 'no whiteout, no temporary left');
  t.equal(fs.lstatSync(s.path('layer/a/f1')).ino, inode, 'the replaced file is the same inode again');
  t.equal(s.read('layer/a/f2'), 'two');
  t.equal(fs.readlinkSync(s.path('layer/a/link')), 'f1');
  t.equal(fs.lstatSync(s.path('layer/a/f1')).nlink, 1, 'the kept link is gone');

  whiteoutsSync(root, ['a/f1', 'a/new', 'a/f1'], { force: true });
  t.ok(isCharDevice00(s.path('layer/a/f1')) && isCharDevice00(s.path('layer/a/new')));
  t.same(tempsIn(s.path('layer/a')), [], 'success removes the kept links');
});

t.test('an xattr whiteout undone also removes the opaque x mark it made', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'layer/d/exists': 'x' });
  s.mkdirs('layer/e');
  const root = s.path('layer');
  t.throws(() => whiteoutsSync(root, ['e/a', 'd/b', 'd/exists'], { kind: 'xattr' }), { code: 'EEXIST', index: 2 });
  t.equal(isOpaqueSync('e', { root }), false, 'e unmarked again');
  t.equal(isOpaqueSync('d', { root }), false, 'd unmarked again');
  t.same(fs.readdirSync(s.path('layer/e')), []);
  t.same(fs.readdirSync(s.path('layer/d')), ['exists']);
  // The mark made by a batch that succeeded (the library's own way to write one), then a batch that fails.
  whiteoutsSync(root, ['d/b'], { kind: 'xattr' });
  t.equal(isOpaqueSync('d', { root }), 'x', 'd marked by the batch that succeeded');
  t.throws(() => whiteoutsSync(root, ['d/c', 'd/exists'], { kind: 'xattr' }), { code: 'EEXIST', index: 1 });
  t.equal(isOpaqueSync('d', { root }), 'x', 'a mark that was there before stays');
  t.same(fs.readdirSync(s.path('layer/d')).sort(), ['b', 'exists'], 'the earlier whiteout stays, the undone one is gone');
});

t.test('a full filesystem half way through: nothing stays', needsRoot, async (t) => {
  const s = scratch(t);
  const [fsDir] = s.mkdirs('small');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'nr_inodes=8,size=1m', 'layer-tools-test', fsDir as string]);
  t.teardown(() => execFileSync('umount', [fsDir as string]));
  fs.mkdirSync(s.path('small/d'));
  const paths = Array.from({ length: 20 }, (_, i) => `d/w${i}`);
  const err = (await whiteouts(s.path('small'), paths).catch((e: unknown) => e)) as WhiteoutsError;
  t.match(err, { code: 'ENOSPC', syscall: 'mknodat' });
  t.ok(err.index > 0, `failed at paths[${err.index}], after some were made`);
  t.same(fs.readdirSync(s.path('small/d')), [], 'the ones made were removed');
});

t.test('every path is checked before any is made', needsRoot, async (t) => {
  const s = scratch(t);
  const [root] = s.mkdirs('layer');
  const refused = (paths: unknown[], field: string, index: number) =>
    t.throws(() => whiteoutsSync(root, paths as string[]), { name: /Error$/, field, index }, `${field} refused`);
  refused(['a', '../escape'], 'paths[1]', 1);
  refused(['a', 'b', '/elsewhere/x'], 'paths[2]', 2);
  refused(['a', 7], 'paths[1]', 1);
  refused(['', 'a'], 'paths[0]', 0);
  t.throws(() => whiteoutsSync(root, 'a' as never), { name: 'TypeError', message: /paths/, field: 'paths' });
  t.throws(() => whiteoutsSync(s.path('no-such-root'), ['a']), { code: 'ENOENT', field: 'root' });
  await t.rejects(whiteouts(root, ['a'], { kind: 'nope' as never }), { code: 'EINVAL', field: 'kind' });
  t.same(fs.readdirSync(root), [], 'nothing made by any of them');
  await whiteouts(root, []);
});
