// The CLI's help, version, usage errors and exit codes: what needs no mount.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { OVL, ovl, stderrJson } from '../helpers/cli';
import { needsOverlay, scratch } from '../helpers/scratch';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

t.test('the built bin is what package.json names, executable, with a shebang', async (t) => {
  t.equal(path.resolve(__dirname, '..', '..', '..', pkg.bin.ovl as string), OVL);
  t.ok(fs.statSync(OVL).mode & 0o111, 'executable');
  t.match(fs.readFileSync(OVL, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

t.test('--version prints the package version', async (t) => {
  const r = ovl(['--version']);
  t.equal(r.status, 0);
  t.equal(r.stdout, `${pkg.version}\n`);
});

t.test('--help lists every command; each command has its own help', async (t) => {
  const r = ovl(['--help']);
  t.equal(r.status, 0);
  for (const name of ['mount', 'umount', 'replace', 'ls', 'whiteout', 'opaque', 'doctor', 'unpack']) {
    t.match(r.stdout, new RegExp(`^  ${name} `, 'm'), `lists ${name}`);
    const h = ovl([name, '--help']);
    t.equal(h.status, 0, `${name} --help exits 0`);
    t.match(h.stdout, new RegExp(`^Usage: ovl ${name} `), `${name} --help starts with its usage`);
    t.match(h.stdout, /Exit status/, `${name} --help gives the exit codes`);
    t.equal(h.stderr, '');
  }
  t.match(ovl(['mount', '-h']).stdout, /^Usage: ovl mount/, '-h too');
});

t.test('wrong usage: exit 1, one line on stderr pointing at --help', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^ovl: a COMMAND is missing \(see 'ovl --help'\)\n$/],
    [['frobnicate'], /^ovl: unknown command 'frobnicate'/],
    [['mount', '--bogus', '/x'], /^ovl: mount: unknown option '--bogus' \(see 'ovl mount --help'\)\n$/],
    [['mount', '--lower', '/a'], /^ovl: mount: TARGET is missing/],
    [['mount', '--lower', '/a', '/x', '/y'], /^ovl: mount: one TARGET only/],
    [['mount', '-o'], /^ovl: mount: option '-o, --options <value>' argument missing/],
    [['umount'], /^ovl: umount: TARGET is missing/],
    [['ls', '/a', '/b'], /^ovl: ls: one TARGET at most/],
    [['whiteout', '--bogus', '/x'], /^ovl: whiteout: unknown option '--bogus' \(see 'ovl whiteout --help'\)\n$/],
    [['opaque'], /^ovl: opaque: DIR is missing/],
    [['doctor', '--work', '/w'], /^ovl: doctor: --upper and --work are both needed/],
    [['replace', '--lower', '/a'], /^ovl: replace: TARGET is missing/],
    [['replace', '--lower', '/a', '/x', '/y'], /^ovl: replace: one TARGET only/],
    [['mount', '--docker'], /^ovl: mount: option '--docker <value>' argument missing/],
  ];
  for (const [args, message] of cases) {
    const r = ovl(args);
    t.equal(r.status, 1, `ovl ${args.join(' ')}: exit 1`);
    t.match(r.stderr, message);
    t.equal(r.stderr.split('\n').length, 2, 'one line');
    t.equal(r.stdout, '');
  }
});

t.test('options the library refuses before the kernel: exit 1, naming the option', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['mount', '-o', 'lowerdir=/a,bogus', '/x'], /^ovl: mount: EINVAL: bogus: unknown option\n$/],
    [['mount', '-o', 'index=maybe', '--lower', '/a', '/x'], /^ovl: mount: EINVAL: index: must be 'index=on' or 'index=off'/],
    [['mount', '-o', 'upperdir=/u,workdir=/w', '--upper', '/u2', '--lower', '/a', '/x'], /^ovl: mount: upper given twice/],
    [['mount', '--lower', '/a', '/x'], /^ovl: mount: EINVAL: lower: without an upper layer the kernel needs at least 2 lower layers \(data-only layers count\)/],
    [['mount', '--lower', '/a', '--upper', '/u', '/x'], /^ovl: mount: EINVAL: work: upper and work must be given together/],
    [['mount', '--lower', '/a', '--lower', '/b', '--mechanism', 'telepathy', '/x'], /^ovl: mount: EINVAL: mechanism: must be one of/],
  ];
  for (const [args, message] of cases) {
    const r = ovl(args);
    t.equal(r.status, 1, `ovl ${args.join(' ')}: exit 1`);
    t.match(r.stderr, message);
  }
});

t.test('with --json, errors are one JSON object on stderr', async (t) => {
  const usage = ovl(['mount', '--json', '--bogus', '/x']);
  t.equal(usage.status, 1);
  t.equal(usage.stdout, '');
  t.match(stderrJson(usage), { command: 'mount', code: 'ERR_USAGE', exitCode: 1, message: /unknown option '--bogus'/ });
  const invalid = ovl(['mount', '--json', '-o', 'lowerdir=/a,nope', '/x']);
  t.equal(invalid.status, 1);
  t.match(stderrJson(invalid), { command: 'mount', code: 'EINVAL', errno: -22, field: 'nope', reason: 'unknown option', exitCode: 1 });
  const ls = ovl(['ls', '--json', '/']);
  t.equal(ls.status, 1, 'nothing mounted on /');
  t.match(stderrJson(ls), { command: 'ls', code: 'ENOTMOUNTED', exitCode: 1 });
});

t.test('a missing layer is refused before the kernel: exit 1, naming the layer', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, target] = s.mkdirs('a', 'merged');
  const missing = s.path('missing');
  const r = ovl(['mount', '--json', '--lower', a as string, '--lower', missing, target as string]);
  t.equal(r.status, 1);
  t.match(stderrJson(r), { code: 'ENOENT', syscall: 'open', path: missing, field: 'lower[1]', exitCode: 1 });
  t.same(fs.readdirSync(target as string), [], 'nothing mounted');
});

t.test('umount of something not mounted: the kernel refuses, exit 32', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b] = s.mkdirs('a', 'b');
  const r = ovl(['umount', a as string, b as string]);
  t.equal(r.status, 32);
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 2, 'every target tried, one line each');
  t.equal(lines[0], `ovl: umount: EINVAL: invalid argument, umount2 '${a}' (not mounted)`);
  t.equal(ovl(['umount', s.path('nowhere')]).status, 32, 'a path that does not exist: the kernel says ENOENT');
});
