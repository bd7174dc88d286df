// ovl whiteout and ovl opaque: a layer prepared offline, then mounted to show
// the kernel reads what was made; the refusals and --get's output.
import * as fs from 'node:fs';
import t from 'tap';
import * as os from 'node:os';
import { isOpaqueSync, isWhiteoutSync } from '../../lib/index';
import { ovl, ovlThrough } from '../helpers/cli';
import { needsOverlay, scratch } from '../helpers/scratch';

const [major = 0, minor = 0] = os.release().split('.').map(Number);
// Before 6.7 overlay ignores xattr whiteouts: the test asserts the file shows through instead.
const xattrWhiteoutsIgnored = major * 100 + minor < 607;
const NOBODY = ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];

t.test('whiteout: char devices by path and beneath --root; mounted as a layer they hide', needsOverlay, async (t) => {
  const s = scratch(t);
  const [top, base, merged] = s.mkdirs('top', 'base', 'merged');
  s.write({ 'base/a': 'a', 'base/b': 'b', 'base/c': 'c', 'base/keep': 'k', 'top/c': 'replaced' });
  const one = ovl(['whiteout', s.path('top/a')]);
  t.equal(one.status, 0, one.stderr);
  t.equal(one.stdout, '', 'silent on success');
  t.equal(isWhiteoutSync(s.path('top/a')), 'chardev');
  const batch = ovl(['whiteout', '--root', top as string, 'b', 'c', '--force']);
  t.equal(batch.status, 0, batch.stderr);
  t.equal(isWhiteoutSync('c', { root: top as string }), 'chardev', '--force replaced the file');

  t.equal(ovl(['mount', '--lower', top as string, '--lower', base as string, merged as string]).status, 0);
  t.same(fs.readdirSync(merged as string), ['keep'], 'a, b and c are hidden');
  t.equal(ovl(['umount', merged as string]).status, 0);
});

t.test('whiteout: refusals name the path, exit 1; nothing is changed', needsOverlay, async (t) => {
  const s = scratch(t);
  const [top] = s.mkdirs('top');
  s.write({ 'top/f': 'x' });
  fs.symlinkSync('/etc', s.path('top/link'));
  const exists = ovl(['whiteout', s.path('top/f')]);
  t.equal(exists.status, 1);
  t.match(exists.stderr, /^ovl: whiteout: EEXIST: .*top\/f'\n$/);
  t.equal(s.read('top/f'), 'x', 'untouched without --force');
  const escape = ovl(['whiteout', '--root', top as string, 'link/passwd']);
  t.equal(escape.status, 1);
  t.match(escape.stderr, /ELOOP/);
  const batch = ovl(['whiteout', '--root', top as string, 'new', '../out']);
  t.equal(batch.status, 1, 'a path outside the root');
  t.match(batch.stderr, /EXDEV/);
  t.notOk(fs.existsSync(s.path('top/new')), 'every path is checked before any is made');
  t.match(ovl(['whiteout']).stderr, /^ovl: whiteout: PATH is missing \(see 'ovl whiteout --help'\)/);
});

t.test(`whiteout --xattr: a file with overlay.whiteout, ${xattrWhiteoutsIgnored ? 'shown as an empty file before 6.7' : 'honoured in a lower layer'}`, needsOverlay, async (t) => {
  const s = scratch(t);
  s.mkdirs('top/d', 'base/d');
  const [top, base, merged] = [s.path('top'), s.path('base'), ...s.mkdirs('merged')];
  s.write({ 'base/d/gone': 'g', 'base/d/kept': 'k' });
  const r = ovl(['whiteout', '--xattr', '--root', top as string, 'd/gone']);
  t.equal(r.status, 0, r.stderr);
  t.equal(isWhiteoutSync('d/gone', { root: top as string }), 'xattr');
  t.equal(isOpaqueSync(s.path('top/d')), 'x', 'its directory marked x');
  t.equal(ovl(['mount', '--lower', top as string, '--lower', base as string, merged as string]).status, 0);
  t.same(fs.readdirSync(s.path('merged/d')).sort(), xattrWhiteoutsIgnored ? ['gone', 'kept'] : ['kept']);
  t.equal(ovl(['umount', merged as string]).status, 0);
  const user = ovl(['whiteout', '--xattr', '--userxattr', s.path('top/d/kept')]);
  t.equal(user.status, 0, user.stderr);
  t.equal(isWhiteoutSync(s.path('top/d/kept'), { userxattr: true }), 'xattr', 'in user.overlay.*');
});

t.test('opaque: set, --get, --clear; several DIRs print DIR: MARK lines', { skip: process.getuid?.() !== 0 && 'trusted.* xattrs need root' }, async (t) => {
  const s = scratch(t);
  const [a, b] = s.mkdirs('layer/a', 'layer/b');
  t.equal(ovl(['opaque', a as string]).status, 0);
  const get = ovl(['opaque', '--get', a as string]);
  t.equal(get.status, 0);
  t.equal(get.stdout, 'y\n');
  const none = ovl(['opaque', '--get', b as string]);
  t.equal(none.status, 0, 'no mark is not an error');
  t.equal(none.stdout, '');
  const both = ovl(['opaque', '--get', '--root', s.path('layer'), 'a', 'b']);
  t.equal(both.stdout, 'a: y\nb: -\n');
  t.equal(ovl(['opaque', '--clear', a as string]).status, 0);
  t.equal(isOpaqueSync(a as string), false);
  t.equal(ovl(['opaque', '--clear', a as string]).status, 0, 'clearing nothing is fine');
  t.equal(ovl(['opaque', '--userxattr', b as string]).status, 0);
  t.equal(isOpaqueSync(b as string, { userxattr: true }), 'y');
  t.equal(isOpaqueSync(b as string), false, 'not in trusted.*');
  t.equal(ovl(['opaque', '--get', '--userxattr', b as string]).stdout, 'y\n');

  const missing = ovl(['opaque', s.path('nope')]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /^ovl: opaque: ENOENT/);
  t.match(ovl(['opaque', '--get', '--clear', a as string]).stderr, /cannot be combined/);
});

t.test('opaque --get without CAP_SYS_ADMIN refuses instead of printing nothing', { skip: process.getuid?.() !== 0 && 'needs root to drop to nobody' }, async (t) => {
  const s = scratch(t);
  fs.chmodSync(s.dir, 0o755);
  const [a] = s.mkdirs('a');
  t.equal(ovl(['opaque', a as string]).status, 0);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const r = ovlThrough(NOBODY, ['opaque', '--get', a as string], { env, cwd: '/' });
  t.equal(r.status, 1);
  t.match(r.stderr, /^ovl: opaque: EPERM: reading trusted\.overlay\.opaque needs CAP_SYS_ADMIN/);
  t.equal(r.stdout, '');
  const user = ovlThrough(NOBODY, ['opaque', '--get', '--userxattr', a as string], { env, cwd: '/' });
  t.equal(user.status, 0, 'user.* needs no privilege to read');
});
