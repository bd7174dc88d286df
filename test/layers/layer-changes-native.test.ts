// changes() as Docker and Podman list a layer: directories both sides have
// only when they changed themselves or hold an addition or deletion; names
// that are not UTF-8 kept byte for byte; Sync and Promise the same walk.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { changes, changesSync, mount, whiteoutSync, type LayerChange } from '../../lib/index';
import { ovl } from '../helpers/cli';
import { needsRoot } from '../helpers/layer';
import { needsOverlay, scratch } from '../helpers/scratch';

const lines = (list: LayerChange[]) => list.map((c) => `${c.kind} ${String(c.path)}`);

t.test('copy-up alone does not list a directory; an addition or deletion lists every ancestor', needsOverlay, async (t) => {
  const s = scratch(t);
  s.write({ 'base/etc/issue': 'Debian', 'base/etc/other': 'o', 'base/a/b/c/old': 'x', 'base/m/f': 'f', 'base/keep/deep/file': 'k' });
  const [upper, work, target] = s.mkdirs('upper', 'work', 'merged');
  const m = await mount({ lower: [s.path('base')], upper, work, target });
  t.teardown(() => (m.mounted ? m.unmountSync({ detach: true }) : undefined));
  fs.appendFileSync(s.path('merged/etc/issue'), ' 13');
  s.write({ 'merged/a/b/c/new': 'n' });
  fs.chmodSync(s.path('merged/m'), 0o700);
  fs.appendFileSync(s.path('merged/keep/deep/file'), '!');
  await m.unmount();
  const wanted = ['C /a', 'C /a/b', 'C /a/b/c', 'A /a/b/c/new', 'C /etc/issue', 'C /keep/deep/file', 'C /m'];
  t.same(lines(changesSync(upper as string, { lower: [s.path('base')] })), wanted);
  t.same(lines(await changes(upper as string, { lower: [s.path('base')] })), wanted, 'the Promise form agrees');
  // A deletion deep down lists its ancestors too.
  whiteoutSync('keep/deep/gone', { root: upper as string });
  t.same(lines(changesSync(upper as string, { lower: [s.path('base')] })).filter((l) => l.includes('/keep')), ['C /keep', 'C /keep/deep', 'D /keep/deep/gone', 'C /keep/deep/file']
    .sort((a, b) => (a.slice(2) < b.slice(2) ? -1 : 1)));
});

t.test('a directory of the lower reached through a symlink is compared through it', needsRoot, async (t) => {
  const s = scratch(t);
  s.mkdirs('base/real', 'upper/link');
  fs.symlinkSync('real', s.path('base/link'));
  fs.chmodSync(s.path('upper/link'), fs.statSync(s.path('base/real')).mode & 0o7777);
  execFileSync('touch', ['-r', s.path('base/real'), s.path('upper/link')]);
  t.same(lines(changesSync(s.path('upper'), { lower: [s.path('base')] })), [], 'same mode, size and time: not listed');
  fs.chmodSync(s.path('upper/link'), 0o711);
  t.same(lines(changesSync(s.path('upper'), { lower: [s.path('base')] })), ['C /link']);
});

t.test('names that are not UTF-8: never dropped, changed or merged', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/d/f\uFFFDg': 'the U+FFFD name', 'base/d/keep': 'k' });
  const raw = Buffer.from('f\xffg', 'latin1');
  const dir = Buffer.from(s.path('upper/d') + '/');
  fs.writeFileSync(Buffer.concat([dir, raw]), 'the raw name');
  const rawDir = Buffer.concat([Buffer.from(s.path('upper') + '/'), Buffer.from('caf\xe9', 'latin1')]);
  fs.mkdirSync(rawDir);
  // Node passes arguments as UTF-8: the shell's printf makes the raw bytes.
  execFileSync('sh', ['-c', 'mknod "$(printf "%s/caf\\351/\\376" "$1")" c 0 0', 'sh', s.path('upper')]);
  const list = changesSync(s.path('upper'), { lower: [s.path('base')] });
  const asBytes = list.map((c) => `${c.kind} ${Buffer.from(c.path as never).toString('hex')}`);
  const hex = (p: string) => Buffer.from(p, 'latin1').toString('hex');
  t.same(asBytes, [
    `A ${hex('/caf\xe9')}`,
    `D ${hex('/caf\xe9/\xfe')}`,
    `C ${hex('/d')}`,
    `A ${Buffer.from('/d/f\uFFFDg').toString('hex')}`,
    `A ${hex('/d/f\xffg')}`,
  ]);
  t.ok(Buffer.isBuffer(list[0]?.path) && typeof list[2]?.path === 'string', 'Buffers for the names that are not UTF-8 only');
  t.ok(Buffer.isBuffer(list[4]?.path) && typeof list[3]?.path === 'string', 'the raw name and its U+FFFD look-alike stay two');
  t.equal(fs.readFileSync(Buffer.concat([Buffer.from(s.path('upper')), list[4]?.path as Buffer]), 'utf8'), 'the raw name', 'a Buffer path reads the very file');
  t.same(lines(await changes(Buffer.from(s.path('upper')), { lower: [Buffer.from(s.path('base'))] })), lines(list), 'Buffer arguments, Promise form');

  const r = ovl(['diff', '--lower', s.path('base'), s.path('upper')]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'A /caf\\351\nD /caf\\351/\\376\nC /d\nA /d/f\uFFFDg\nA /d/f\\377g\n', 'escaped byte by byte');
  const j = JSON.parse(ovl(['diff', '--json', s.path('upper')]).stdout) as Array<{ path: string; pathBase64?: string }>;
  const entry = j.find((e) => e.pathBase64 !== undefined && Buffer.from(e.pathBase64, 'base64').equals(Buffer.from('/d/f\xffg', 'latin1')));
  t.ok(entry, 'JSON carries the exact bytes');
  t.notOk(fs.existsSync(path.join(s.dir, 'stray')), 'nothing written');
});
