// changes(): an upper made by real work through a mount lists exactly what
// was done; and the lowers are read the way the kernel reads them.
import * as fs from 'node:fs';
import t from 'tap';
import { changes, changesSync, mount, setOpaqueSync, whiteoutSync, type LayerChange } from '../../lib/index';
import { needsRoot } from '../helpers/layer';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

function list(text: string): LayerChange[] {
  return text
    .trim()
    .split('\n')
    .map((line) => ({ kind: line.slice(0, 1) as LayerChange['kind'], path: line.slice(2) }));
}

t.test('an upper made through a mount: create, edit, delete, replace a directory', needsOverlay, async (t) => {
  const s = scratch(t);
  s.write({
    'base/etc/motd': 'hello',
    'base/etc/hosts': 'localhost',
    'base/etc/keep': 'untouched',
    'base/opt/app/a': 'old a',
    'base/opt/app/sub/b': 'old b',
    'base/var/log/old': 'rotated',
    'base/usr/bin/tool': 'untouched',
  });
  const [upper, work, target] = s.mkdirs('upper', 'work', 'merged');
  const m = await mount({ lower: [s.path('base')], upper, work, target });
  unmountAtEnd(t, m);
  s.write({ 'merged/new/file': 'created', 'merged/etc/new': 'created' });
  fs.appendFileSync(s.path('merged/etc/motd'), ', edited');
  fs.rmSync(s.path('merged/etc/hosts'));
  fs.rmSync(s.path('merged/var/log/old'));
  fs.rmSync(s.path('merged/opt/app'), { recursive: true });
  s.write({ 'merged/opt/app/a': 'new a', 'merged/opt/app/c': 'new c' });
  await m.unmount();

  const expected = list(`
C /etc
C /etc/motd
D /etc/hosts
A /etc/new
A /new
A /new/file
C /opt
D /opt/app
C /opt/app/a
A /opt/app/c
C /var
C /var/log
D /var/log/old`).sort((a, b) => (a.path < b.path ? -1 : 1));
  t.same(await changes(upper, { lower: [s.path('base')] }), expected, 'exactly what was done, sorted by path');
  t.same(changesSync(upper, { lower: [s.path('base')] }), expected, 'the Sync twin agrees');
  t.same(
    changesSync(upper).map((c) => c.kind),
    expected.map((c) => (c.path === '/etc/hosts' || c.path === '/var/log/old' ? 'D' : 'A')),
    'without lowers: whiteouts are D, everything else A (an opaque directory over nothing is not a deletion)',
  );
});

t.test('the lowers are read as the kernel stacks them', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({
    'l2/gone/f': 'hidden by a whiteout in l1',
    'l2/opq/old': 'hidden by an opaque dir in l1',
    'l2/opq/also': 'hidden too',
    'l2/shadowed/f': 'hidden: l1 has a file named shadowed',
    'l1/opq/kept': 'in l1 itself',
    'l1/shadowed': 'a file',
    'upper/gone/f': 'new',
    'upper/opq/old': 'new',
    'upper/opq/kept': 'changed',
    'upper/shadowed/f': 'new',
  });
  whiteoutSync('gone', { root: s.path('l1') });
  setOpaqueSync('opq', { root: s.path('l1') });
  setOpaqueSync('opq', { root: s.path('upper') });
  const lower = [s.path('l1'), s.path('l2')];
  t.same(
    changesSync(s.path('upper'), { lower }),
    list(`
A /gone
A /gone/f
D /opq
C /opq/kept
A /opq/old
C /shadowed
A /shadowed/f`),
  );
});

t.test('xattr whiteouts are deletions too, in the upper and in a lower', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'l2/a': 'x', 'l2/b': 'x', 'upper/b': 'back' });
  s.mkdirs('l1', 'upper');
  whiteoutSync('b', { root: s.path('l1'), kind: 'xattr' });
  whiteoutSync('a', { root: s.path('upper'), kind: 'xattr' });
  t.same(changesSync(s.path('upper'), { lower: [s.path('l1'), s.path('l2')] }), list('D /a\nA /b'));
});

t.test('a symlink in a lower is not followed', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'outside/motd': 'outside', 'upper/etc/motd': 'mine' });
  s.mkdirs('lower');
  fs.symlinkSync(s.path('outside'), s.path('lower/etc'));
  t.same(changesSync(s.path('upper'), { lower: [s.path('lower')] }), list('C /etc\nA /etc/motd'), 'etc is a symlink there, not a directory holding motd');
});

t.test('bad arguments', async (t) => {
  t.throws(() => changesSync(''), { code: 'EINVAL', field: 'upper' });
  t.throws(() => changesSync('/tmp', { lower: 'x' as unknown as string[] }), { code: 'ERR_INVALID_ARG_TYPE', field: 'lower' });
  await t.rejects(changes('/nonexistent-ovl-upper'), { code: 'ENOENT' });
});

t.test('the upper given again as a lower is refused, not listed as all changed', async (t) => {
  const s = scratch(t);
  s.write({ 'up/a/f': 'f' });
  const expected = { code: 'EINVAL', field: 'lower[1]', path: s.path('up') };
  t.throws(() => changesSync(s.path('up'), { lower: [s.path('up/a'), s.path('up/../up')] }), expected);
  await t.rejects(changes(s.path('up'), { lower: [s.path('up/a'), s.path('up')] }), expected);
});
