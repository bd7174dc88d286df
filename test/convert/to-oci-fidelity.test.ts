// toOci keeps what `tar --xattrs` and `cp -a` keep: hard links as one inode,
// device nodes and fifos, sparse files sparse, nanosecond times, set-id and
// sticky bits, owners; a socket is skipped and reported.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { toOci, toOciSync, type ToOciResult } from '../../lib/index';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';
import { ovlThrough } from '../helpers/cli';

const FORMS: Array<[string, (upper: string, dest: string) => Promise<ToOciResult>]> = [
  ['Sync', async (upper, dest) => toOciSync(upper, dest)],
  ['Promise', (upper, dest) => toOci(upper, dest)],
];

for (const [form, exportTo] of FORMS) {
  t.test(`${form}: links, devices, fifos, holes, times, modes and owners`, needsRoot, async (t) => {
    const s = scratch(t);
    s.write({ 'upper/a/one': 'linked', 'upper/plain': 'p' });
    fs.linkSync(s.path('upper/a/one'), s.path('upper/two'));
    fs.linkSync(s.path('upper/a/one'), s.path('upper/a/three'));
    execFileSync('mknod', [s.path('upper/tty'), 'c', '4', '64']);
    execFileSync('mknod', [s.path('upper/loop'), 'b', '7', '200']);
    execFileSync('mkfifo', [s.path('upper/fifo')]);
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', s.path('upper/sock')]);
    const sparse = s.path('upper/sparse');
    fs.writeFileSync(sparse, '');
    fs.truncateSync(sparse, 64 << 20);
    const fd = fs.openSync(sparse, 'r+');
    fs.writeSync(fd, 'data in the middle', 32 << 20);
    fs.closeSync(fd);
    fs.chmodSync(s.path('upper/plain'), 0o6755);
    fs.mkdirSync(s.path('upper/tmp'));
    fs.chmodSync(s.path('upper/tmp'), 0o1777);
    fs.chownSync(s.path('upper/plain'), 1234, 5678);
    fs.chmodSync(s.path('upper/plain'), 0o6755); // chown cleared the set-id bits
    execFileSync('touch', ['-h', '-d', '2001-02-03 04:05:06.123456789', s.path('upper/plain'), s.path('upper/tty'), s.path('upper/tmp')]);

    const { skipped } = await exportTo(s.path('upper'), s.path('oci'));
    t.same(skipped.map((x) => [x.path, x.reason.split(':')[0]]), [['/sock', 'a socket']], 'only the socket is skipped');
    const st = (p: string) => fs.lstatSync(s.path('oci', p), { bigint: true });
    t.equal(st('two').ino, st('a/one').ino, 'hard links stay one inode');
    t.equal(st('a/three').ino, st('a/one').ino);
    t.equal(st('a/one').nlink, 3n);
    t.ok(st('tty').isCharacterDevice() && st('tty').rdev === fs.lstatSync(s.path('upper/tty'), { bigint: true }).rdev, 'char device');
    t.ok(st('loop').isBlockDevice() && st('loop').rdev === fs.lstatSync(s.path('upper/loop'), { bigint: true }).rdev, 'block device');
    t.ok(st('fifo').isFIFO(), 'fifo');
    t.equal(st('sparse').size, 64n << 20n);
    t.ok(st('sparse').blocks * 512n < 1n << 20n, `sparse stays sparse (${st('sparse').blocks} blocks)`);
    const back = fs.readFileSync(s.path('oci/sparse'));
    t.equal(back.subarray(32 << 20, (32 << 20) + 18).toString(), 'data in the middle');
    t.equal(st('plain').mode & 0o7777n, 0o6755n, 'setuid and setgid kept');
    t.same([st('plain').uid, st('plain').gid], [1234n, 5678n], 'owner');
    t.equal(st('tmp').mode & 0o7777n, 0o1777n, 'sticky kept');
    for (const p of ['plain', 'tty', 'tmp']) t.equal(st(p).mtimeNs, fs.lstatSync(s.path('upper', p), { bigint: true }).mtimeNs, `${p}: mtime to the nanosecond`);
    t.equal(st('plain').mtimeNs % 1_000_000_000n, 123456789n);
  });
}

t.test('without CAP_CHOWN an owner cannot be kept: refused up front (EPERM, naming it), and no DEST', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/a': 'x', 'upper/b': 'y' });
  fs.chownSync(s.path('upper/b'), 1234, 5678);
  const r = ovlThrough(['env', '-u', 'NODE_OPTIONS', 'setpriv', '--inh-caps=-chown', '--bounding-set=-chown'], ['convert', '--to', 'oci', s.path('upper'), s.path('oci')]);
  t.equal(r.status, 1, r.stderr);
  t.match(r.stderr, /EPERM.*'\/b' cannot be exported as it is: owned by 1234:5678/);
  t.same(fs.readdirSync(s.dir).sort(), ['upper'], 'no DEST, no temporary');
});

t.test("ovl convert --unprivileged report: exported without CAP_CHOWN, each owner not kept named on stderr", needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/a': 'x', 'upper/b': 'y' });
  fs.chownSync(s.path('upper/b'), 1234, 5678);
  const wrapper = ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--inh-caps=-chown', '--bounding-set=-chown'];
  const r = ovlThrough(wrapper, ['convert', '--to', 'oci', '--unprivileged', 'report', s.path('upper'), s.path('oci')]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /^ovl: convert: skipped \/b: owner 1234:5678 not kept/m);
  t.equal(fs.readFileSync(s.path('oci/b'), 'utf8'), 'y', 'the entry itself is written');
  t.same([fs.lstatSync(s.path('oci/b')).uid], [0], "with the caller's owner");
  const bad = ovlThrough([], ['convert', '--to', 'oci', '--unprivileged', 'skip', s.path('upper'), s.path('oci2')]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /--unprivileged must be refuse or report/);
});
