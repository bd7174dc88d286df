// ovl diff and ovl convert, run as subprocesses the way people and scripts run them.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { isOpaqueSync, isWhiteoutSync, whiteoutSync, setOpaqueSync } from '../../lib/index';
import { OVL, ovl, stderrJson } from '../helpers/cli';
import { mountTmpfs } from '../helpers/filesystems';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';
import { snapshot } from '../helpers/tree';
import { setXattrs } from '../helpers/xattr';
import { nodeCommand } from '../helpers/child-env';

t.test('both commands have their help and are listed', async (t) => {
  for (const name of ['diff', 'convert']) {
    t.match(ovl(['--help']).stdout, new RegExp(`^  ${name} `, 'm'));
    const h = ovl([name, '--help']);
    t.equal(h.status, 0);
    t.match(h.stdout, new RegExp(`^Usage: ovl ${name} `));
    t.match(h.stdout, /Exit status/);
  }
});

t.test('ovl diff: docker diff lines, or JSON', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'base/etc/motd': 'hi', 'base/etc/hosts': 'h', 'base/d/x': 'x', 'upper/etc/motd': 'edited', 'upper/new file': 'n', 'upper/d/y': 'y' });
  whiteoutSync('etc/hosts', { root: s.path('upper') });
  setOpaqueSync('d', { root: s.path('upper') });
  const r = ovl(['diff', '--lower', s.path('base'), s.path('upper')]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'D /d\nA /d/y\nC /etc\nD /etc/hosts\nC /etc/motd\nA /new\\040file\n');
  const j = ovl(['diff', '--json', '--lower', s.path('base'), s.path('upper')]);
  t.equal(j.status, 0);
  t.same((JSON.parse(j.stdout) as Array<{ path: string }>).map((c) => c.path).at(-1), '/new file', 'names as they are in JSON');
  t.equal(ovl(['diff', s.path('base')]).stdout, 'A /d\nA /d/x\nA /etc\nA /etc/hosts\nA /etc/motd\n', 'no lowers: all added');
});

t.test('ovl diff: usage errors and unreadable layers exit 1', async (t) => {
  const r = ovl(['diff']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^ovl: diff: UPPER is missing \(see 'ovl diff --help'\)\n$/);
  const j = ovl(['diff', '--json', '/nonexistent-ovl-upper']);
  t.equal(j.status, 1);
  t.match(stderrJson(j), { command: 'diff', code: 'ENOENT', exitCode: 1 });
});

t.test('ovl convert --to overlay, then --to oci', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'oci/etc/.wh.hosts': '', 'oci/d/.wh..wh..opq': '', 'oci/d/f': 'f' });
  const original = snapshot(s.path('oci'));
  const r = ovl(['convert', '--to', 'overlay', s.path('oci')]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout + r.stderr, '', 'silent on success');
  t.equal(isWhiteoutSync(s.path('oci/etc/hosts')), 'chardev');
  t.equal(isOpaqueSync(s.path('oci/d')), 'y');
  t.equal(ovl(['convert', '--to', 'oci', s.path('oci'), s.path('back')]).status, 0);
  t.same(snapshot(s.path('back')), original, 'back to the OCI form');
  const again = ovl(['convert', '--to', 'oci', s.path('oci'), s.path('back')]);
  t.equal(again.status, 1);
  t.match(again.stderr, /^ovl: convert: ENOTEMPTY: dest: .* is not empty\n$/);
});

t.test('ovl convert --to oci names what it skipped', needsRoot, async (t) => {
  const s = scratch(t);
  s.mkdirs('upper');
  fs.writeFileSync(s.path('upper/f'), 'x');
  execFileSync('mkfifo', [s.path('upper/pipe')]);
  execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', s.path('upper/sock')]);
  const r = ovl(['convert', '--to', 'oci', s.path('upper'), s.path('out')]);
  t.equal(r.status, 0);
  t.match(r.stderr, /^ovl: convert: skipped \/sock: a socket/);
  t.same(fs.readdirSync(s.path('out')).sort(), ['f', 'pipe'], 'the fifo is made again, the socket is not');
});

t.test('ovl convert --to oci names each xattr the destination refused', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/f': 'x' });
  setXattrs(s.path('upper/f'), { 'user.a': 'a' });
  const r = ovl(['convert', '--to', 'oci', s.path('upper'), mountTmpfs(s, 'ramfs', 'ramfs')]);
  t.equal(r.status, 0);
  t.equal(r.stderr, "ovl: convert: skipped /f: xattr 'user.a' not kept: the destination refused it (ENOTSUP)\n");
});

t.test('ovl convert: wrong usage exits 1', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['convert', '/x'], /--to is missing/],
    [['convert', '--to', 'tar', '/x'], /--to must be overlay or oci, got 'tar'/],
    [['convert', '--to', 'overlay'], /SRC is missing/],
    [['convert', '--to', 'overlay', '/a', '/b'], /in place: no DEST/],
    [['convert', '--to', 'oci', '/a'], /DEST is missing/],
    [['convert', '--to', 'oci', '--xattr', '/a', '/b'], /--xattr is for --to overlay/],
  ];
  for (const [args, message] of cases) {
    const r = ovl(args);
    t.equal(r.status, 1, args.join(' '));
    t.match(r.stderr, message);
    t.match(r.stderr, /\(see 'ovl convert --help'\)\n$/);
  }
});

t.test('ovl diff whose reader goes away (| head -1) stops quietly', needsRoot, async (t) => {
  const s = scratch(t);
  const [upper] = s.mkdirs('upper');
  for (let i = 0; i < 20000; i++) fs.writeFileSync(`${upper}/f${i}`, '');
  const child = spawn(...nodeCommand([OVL, 'diff', upper as string]), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  const firstChunk = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(String(d))));
  child.stdout.destroy(); // as head does once it has its line
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.match(firstChunk, /^A \/f/);
  t.equal(status, 0, 'no failure: the reader only stopped reading');
  t.equal(stderr, '', 'nothing said');
});

t.test('ovl convert names each path by its own field, and says which holds which', async (t) => {
  const s = scratch(t);
  s.write({ 'up/a/f': 'f', 'oci/.wh.x': '' });
  const json = (args: string[], cwd?: string) => stderrJson(ovl(['convert', '--json', ...args], cwd ? { cwd } : {}));
  t.match(json(['--to', 'oci', s.path('nope'), s.path('out')]), { code: 'ENOENT', field: 'src', path: s.path('nope') }, 'a missing SRC is ENOENT naming src');
  t.match(json(['--to', 'overlay', s.path('nope')]), { code: 'ENOENT', field: 'src', path: s.path('nope') });
  t.match(json(['--to', 'oci', s.path('up/a/f'), s.path('out')]), { code: 'ENOTDIR', field: 'src' });
  t.match(json(['--to', 'overlay', s.path('up/a/f')]), { code: 'ENOTDIR', field: 'src' });
  // DEST the working directory, a parent of SRC: dest is named, as the one holding SRC.
  const parent = json(['--to', 'oci', 'up', '.'], s.dir);
  t.match(parent, { code: 'EINVAL', field: 'dest', path: s.dir });
  t.match(parent.reason, `dest '${s.dir}' holds the source '${s.path('up')}'`);
  const inside = json(['--to', 'oci', s.path('up'), s.path('up/a/x')]);
  t.match(inside, { code: 'EINVAL', field: 'dest', path: s.path('up/a/x') });
  t.match(inside.reason, `dest '${s.path('up/a/x')}' lies inside the source '${s.path('up')}'`);
  t.match(json(['--to', 'oci', s.path('up'), s.path('up')]).reason, /is the source itself/);
  t.notOk(fs.existsSync(s.path('out')), 'nothing was written');
});
