// changes() and toOci() refuse what would make them answer wrongly: a lower
// that is missing or not a directory, and trusted.* marks they cannot see;
// and they never report a temporary a killed forced whiteout left behind.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { changes, changesSync, toOciSync } from '../../lib/index';
import { ovl, ovlThrough, stderrJson } from '../helpers/cli';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

t.test('a lower that is missing or not a directory is refused, naming it', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/a': 'x', 'base/b': 'y', 'file': 'f' });
  t.throws(() => changesSync(s.path('upper'), { lower: [s.path('base'), s.path('nope')] }), { code: 'ENOENT', field: 'lower[1]', path: s.path('nope') });
  await t.rejects(changes(s.path('upper'), { lower: [s.path('file')] }), { code: 'ENOTDIR', field: 'lower[0]' });
  const r = ovl(['diff', '--json', '--lower', s.path('nope'), s.path('upper')]);
  t.equal(r.status, 1);
  t.match(stderrJson(r), { code: 'ENOENT', field: 'lower[0]' });
});

const NO_SYS_ADMIN = ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin'];

t.test('without CAP_SYS_ADMIN, trusted.* marks are invisible: refused unless userxattr', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/a': 'x' });
  const diff = ovlThrough(NO_SYS_ADMIN, ['diff', '--json', s.path('upper')]);
  t.equal(diff.status, 1, diff.stderr);
  t.match(stderrJson(diff), { code: 'EPERM', field: 'userxattr' });
  const userxattr = ovlThrough(NO_SYS_ADMIN, ['diff', '--userxattr', s.path('upper')]);
  t.equal(userxattr.status, 0, userxattr.stderr);
  t.equal(userxattr.stdout, 'A /a\n');
  const convert = ovlThrough(NO_SYS_ADMIN, ['convert', '--to', 'oci', s.path('upper'), s.path('out')]);
  t.equal(convert.status, 1);
  t.match(convert.stderr, /EPERM/);
  t.notOk(fs.existsSync(s.path('out')), 'no DEST');
});

// What a kill -9 in the middle of whiteout(..., { force: true }) leaves, exactly as
// native/layers/whiteout_fs.cc names and makes it: a char device 0/0, an empty file not yet
// given its xattr, or (a batch) a hard link kept of the entry being replaced.
function plantLeftovers(dir: string): void {
  execFileSync('mknod', [path.join(dir, '.ovl-wh-abc123xy'), 'c', '0', '0']);
  fs.writeFileSync(path.join(dir, '.ovl-wh-0000zzzz'), '');
  fs.linkSync(path.join(dir, 'kept'), path.join(dir, '.ovl-wh-k33p1ink'));
}

t.test('planted leftovers of a killed forced whiteout are never reported', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/d/kept': 'mine', 'base/d/kept': 'old' });
  plantLeftovers(s.path('upper/d'));
  t.same(changesSync(s.path('upper'), { lower: [s.path('base')] }).map((c) => c.path), ['/d', '/d/kept']);
  toOciSync(s.path('upper'), s.path('oci'));
  t.same(fs.readdirSync(s.path('oci/d')), ['kept'], 'not exported');
  // A name of the same shape that is the user's (a non-empty file) is kept.
  s.write({ 'upper/d/.ovl-wh-userfile': 'not a temp', 'upper/d/.ovl-wh-12345678': 'content' });
  t.same(changesSync(s.path('upper')).map((c) => c.path), ['/d', '/d/.ovl-wh-12345678', '/d/.ovl-wh-userfile', '/d/kept']);
});

t.test('a real kill -9 in the middle of forced whiteouts: no leftover is reported', needsRoot, async (t) => {
  const s = scratch(t);
  const [dir] = s.mkdirs('upper/d');
  const script = `const { whiteoutSync } = require(${JSON.stringify(path.resolve(__dirname, '../../lib/index.js'))});
    process.send('ready');
    for (let i = 0; ; i++) whiteoutSync(${JSON.stringify(path.join(dir as string, 'w'))} + (i % 4), { force: true, kind: i % 2 ? 'xattr' : 'chardev' });`;
  let sawLeftover = false;
  for (let round = 0; round < 40 && !sawLeftover; round++) {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise((resolve) => child.once('message', resolve));
    await new Promise((resolve) => setTimeout(resolve, 5 + (round % 7)));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    sawLeftover = fs.readdirSync(dir as string).some((n) => n.startsWith('.ovl-wh-'));
  }
  t.comment(sawLeftover ? 'a kill left a temporary name' : 'no kill landed between make and rename; the planted test covers the shapes');
  const listed = changesSync(s.path('upper')).map((c) => String(c.path));
  t.same(listed.filter((p) => p.includes('.ovl-wh-')), [], 'none listed');
  t.ok(listed.every((p) => p === '/d' || /^\/d\/w[0-3]$/.test(p)), 'only the whiteouts made');
});
