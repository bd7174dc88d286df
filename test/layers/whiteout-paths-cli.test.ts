// ovl whiteout with several PATHs: each is checked before any is made; with
// --root the batch is all or nothing, without it a late failure names what stayed.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { ovl } from '../helpers/cli';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

t.test('a bad PATH anywhere: nothing is made', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'layer/d/exists': 'x' });
  const p = (rel: string) => s.path('layer', rel);
  for (const args of [
    [p('d/a'), p('missing/x')],
    [p('d/a'), p('d/exists')],
    [p('d/a'), p('d/exists/under')],
    ['--force', p('d/a'), p('d')],
    ['--root', s.path('layer'), 'd/a', 'missing/x'],
    ['--root', s.path('layer'), 'd/a', 'd/exists'],
  ]) {
    const r = ovl(['whiteout', ...args]);
    t.equal(r.status, 1, args.join(' '));
    t.notMatch(r.stderr, /made before/, 'nothing to name');
    t.same(fs.readdirSync(p('d')), ['exists'], 'nothing made');
  }
});

t.test('a failure after the checks names exactly the whiteouts kept', needsRoot, async (t) => {
  const s = scratch(t);
  const [small] = s.mkdirs('small');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'nr_inodes=6,size=1m', 'layer-tools-test', small as string]);
  t.teardown(() => execFileSync('umount', [small as string]));
  const paths = Array.from({ length: 10 }, (_, i) => s.path('small', `w${i}`));
  const r = ovl(['whiteout', ...paths]);
  t.equal(r.status, 64, 'some made: some succeeded');
  t.match(r.stderr, /ENOSPC/);
  const made = fs.readdirSync(small as string).sort();
  t.ok(made.length > 0 && made.length < 10, `${made.length} made`);
  const named = /made before the failure, and kept: (.*)\n/.exec(r.stderr)?.[1]?.split(' ');
  t.same(named, made.map((n) => s.path('small', n)), 'stderr names exactly those');
  const batch = ovl(['whiteout', '--root', small as string, ...Array.from({ length: 10 }, (_, i) => `v${i}`)]);
  t.equal(batch.status, 1);
  t.same(fs.readdirSync(small as string).sort(), made, 'with --root, none of the batch stays');
});
