// whiteouts(root, paths): many whiteouts in one native call, stopping at the
// first failure and saying which path it was.
import * as fs from 'node:fs';
import t from 'tap';
import { isWhiteoutSync, whiteouts, whiteoutsSync, type WhiteoutsError } from '../lib/index';
import { isCharDevice00, needsRoot, RESOLVERS, tempsIn } from './helpers/layer';
import { scratch } from './helpers/scratch';

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
  t.test(`the first failure stops the batch and names it (${resolver})`, needsRoot, async (t) => {
    const s = scratch(t);
    s.write({ 'layer/a/exists': 'keep' });
    const root = s.path('layer');
    const err = (await whiteouts(root, ['a/one', 'a/two', 'a/exists', 'a/three'], { resolver }).catch((e: unknown) => e)) as WhiteoutsError;
    t.match(err, { name: 'OverlayError', code: 'EEXIST', syscall: 'mknodat', path: s.path('layer/a/exists'), field: 'paths[2]', index: 2 });
    t.ok(isCharDevice00(s.path('layer/a/one')) && isCharDevice00(s.path('layer/a/two')), 'the ones before it are made and stay');
    t.equal(s.read('layer/a/exists'), 'keep', 'the failing entry is untouched');
    t.notOk(fs.existsSync(s.path('layer/a/three')), 'the ones after it are not attempted');

    t.throws(() => whiteoutsSync(root, ['a/four', 'missing/x', 'a/five'], { resolver }), {
      code: 'ENOENT',
      path: s.path('layer/missing/x'),
      field: 'paths[1]',
      index: 1,
    });
    t.ok(isCharDevice00(s.path('layer/a/four')));
    t.notOk(fs.existsSync(s.path('layer/a/five')));
    t.same(tempsIn(s.path('layer/a')), []);
  });
}

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
