// The CLI keeps its promises (issue 23 §6): umount only unmounts overlays
// unless told, every command answers --json with absolute paths, -r and
// -o rw as mount(8) orders them, --docker reads bounded input, whiteout and
// opaque leave mounted layers alone, and an -o word nobody knows is refused.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { isOpaqueSync, isWhiteoutSync, kernelFeatures } from '../../lib/index';
import { OVL, ovl, stderrJson } from '../helpers/cli';
import { mountTmpfs } from '../helpers/filesystems';
import { mountsAt, topMount } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';
import { nodeCommand } from '../helpers/child-env';

// Read here, not by another spawned `ovl ls` (cli/mount.test.ts tests what ls prints).
function mountOptionsOf(target: string): string[] {
  return topMount(target)?.mountOptions ?? [];
}

t.test('umount refuses a mount that is not an overlay; --any-type unmounts it', needsOverlay, async (t) => {
  const s = scratch(t);
  const tmp = mountTmpfs(s, 'tmp');
  const refused = ovl(['umount', tmp]);
  t.equal(refused.status, 1, 'refused before umount2');
  t.match(refused.stderr, /^ovl: umount: EINVAL: target: '.*\/tmp' has a tmpfs mounted on it, not an overlay; 'ovl umount --any-type' unmounts it anyway\n$/);
  t.match(stderrJson(ovl(['umount', '--json', tmp])), { code: 'EINVAL', field: 'target', path: tmp, exitCode: 1 });
  t.equal(mountsAt(tmp).length, 1, 'the tmpfs is still mounted');

  // An overlay over the tmpfs is unmounted; then the tmpfs beneath is refused again.
  const [a, b] = s.mkdirs('a', 'b');
  t.equal(ovl(['mount', '--lower', a as string, '--lower', b as string, tmp]).status, 0);
  t.equal(ovl(['umount', tmp]).status, 0, 'the overlay on top');
  t.equal(ovl(['umount', tmp]).status, 1, 'the tmpfs beneath');

  const any = ovl(['umount', '--any-type', '--json', tmp]);
  t.equal(any.status, 0, any.stderr);
  t.same(JSON.parse(any.stdout), [{ target: tmp }]);
  t.same(mountsAt(tmp), [], 'gone');
  const nothing = ovl(['umount', tmp]);
  t.equal(nothing.status, 32, 'nothing mounted: the kernel says so');
  t.match(nothing.stderr, /EINVAL: invalid argument, umount2 .*\(not mounted\)/);
});

t.test('--json on umount, whiteout, opaque, convert and remount: absolute paths', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b] = s.mkdirs('a', 'b', 'merged', 'layer/d', 'oci/etc');
  s.write({ 'oci/etc/.wh.motd': '' });
  const cwd = { cwd: s.dir };
  t.equal(ovl(['mount', '--lower', a as string, '--lower', b as string, 'merged'], cwd).status, 0);
  const remounted = ovl(['mount', '--json', '-o', 'remount,nosuid', 'merged'], cwd);
  t.equal(remounted.status, 0, remounted.stderr);
  t.match(JSON.parse(remounted.stdout), { target: s.path('merged'), mechanism: String }, 'remount: the target made absolute');
  const unmounted = ovl(['umount', '--json', 'merged', 'a'], cwd);
  t.equal(unmounted.status, 64, 'merged unmounted, a not (not mounted): some succeeded');
  t.same(JSON.parse(unmounted.stdout), [{ target: s.path('merged') }]);
  t.match(stderrJson(unmounted), { command: 'umount', code: 'EINVAL', syscall: 'umount2', path: s.path('a'), exitCode: 32 });

  const made = ovl(['whiteout', '--json', 'layer/gone', 'layer/d/x'], cwd);
  t.equal(made.status, 0, made.stderr);
  t.same(JSON.parse(made.stdout), [
    { path: s.path('layer/gone'), kind: 'chardev' },
    { path: s.path('layer/d/x'), kind: 'chardev' },
  ]);
  const beneath = ovl(['whiteout', '--json', '--root', 'layer', 'y', 'd/z'], cwd);
  t.same(JSON.parse(beneath.stdout), [
    { path: s.path('layer/y'), kind: 'chardev' },
    { path: s.path('layer/d/z'), kind: 'chardev' },
  ]);
  t.equal(isWhiteoutSync(s.path('layer/d/z')), 'chardev');
  t.match(stderrJson(ovl(['whiteout', '--json', 'layer/y'], cwd)), { code: 'EEXIST', exitCode: 1 });

  t.same(JSON.parse(ovl(['opaque', '--json', '--root', 'layer', 'd'], cwd).stdout), [{ path: s.path('layer/d'), opaque: 'y' }]);
  t.same(JSON.parse(ovl(['opaque', '--get', '--json', 'layer/d', 'layer'], cwd).stdout), [
    { path: s.path('layer/d'), opaque: 'y' },
    { path: s.path('layer'), opaque: null },
  ]);
  t.same(JSON.parse(ovl(['opaque', '--clear', '--json', 'layer/d'], cwd).stdout), [{ path: s.path('layer/d'), opaque: null }]);
  t.equal(isOpaqueSync(s.path('layer/d')), false);

  const toOverlay = ovl(['convert', '--json', '--to', 'overlay', 'oci'], cwd);
  t.equal(toOverlay.status, 0, toOverlay.stderr);
  t.same(JSON.parse(toOverlay.stdout), { to: 'overlay', src: s.path('oci') });
  t.equal(isWhiteoutSync(s.path('oci/etc/motd')), 'chardev');
  const toOci = ovl(['convert', '--json', '--to', 'oci', 'oci', 'out'], cwd);
  t.equal(toOci.status, 0, toOci.stderr);
  t.same(JSON.parse(toOci.stdout), { to: 'oci', src: s.path('oci'), dest: s.path('out'), skipped: [] });
  t.ok(fs.existsSync(s.path('out/etc/.wh.motd')));
  t.match(stderrJson(ovl(['convert', '--json', '--to', 'oci', 'oci', 'out'], cwd)), { command: 'convert', field: 'dest', exitCode: 1 });
});

t.test('-r and -o rw, -o ro: the last one wins, as mount(8)', needsOverlay, async (t) => {
  const s = scratch(t);
  const [l, u, w, m] = s.mkdirs('l', 'u', 'w', 'm');
  const layers = ['--lower', l as string, '--upper', u as string, '--work', w as string];
  const cases: Array<[string[], string]> = [
    [['-r', '-o', 'rw'], 'rw'],
    [['-o', 'rw', '-r'], 'ro'],
    [['--read-only', '-o', 'nosuid,rw'], 'rw'],
    [['-o', 'ro', '-o', 'rw'], 'rw'],
    [['-o', 'rw', '--options', 'ro'], 'ro'],
  ];
  for (const [flags, expected] of cases) {
    const r = ovl(['mount', ...flags, ...layers, m as string]);
    t.equal(r.status, 0, r.stderr);
    t.equal(mountOptionsOf(m as string)[0], expected, `mount ${flags.join(' ')}`);
    t.equal(ovl(['umount', m as string]).status, 0);
  }
  t.equal(ovl(['mount', ...layers, m as string]).status, 0);
  t.equal(ovl(['mount', '-r', '-o', 'remount,rw', m as string]).status, 0);
  t.equal(mountOptionsOf(m as string)[0], 'rw', 'remount: -r then rw');
  t.equal(ovl(['mount', '-o', 'remount,rw', '-r', m as string]).status, 0);
  t.equal(mountOptionsOf(m as string)[0], 'ro', 'remount: rw then -r');
  if (kernelFeatures().moveMountBeneath) {
    const w2 = s.mkdirs('w2')[0] as string;
    const replaced = ovl(['replace', '-o', 'ro', '-r', '-o', 'rw', '--lower', l as string, '--upper', u as string, '--work', w2, m as string]);
    t.equal(replaced.status, 0, replaced.stderr);
    t.equal(mountOptionsOf(m as string)[0], 'rw', 'replace: -o ro -r -o rw');
  }
  t.equal(ovl(['umount', m as string]).status, 0);
});

/** Streams zeros into `ovl mount --docker -` and counts what was written before the CLI stopped reading. */
function feedZeros(target: string, limit: number): Promise<{ status: number | null; stderr: string; written: number }> {
  return new Promise((resolve) => {
    const child = spawn(...nodeCommand([OVL, 'mount', '--docker', '-', target]), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let written = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const chunk = Buffer.alloc(1 << 20);
    const pump = (): void => {
      while (written < limit) {
        written += chunk.length;
        if (!child.stdin.write(chunk)) return void child.stdin.once('drain', pump);
      }
      child.stdin.end();
    };
    child.stdin.on('error', () => undefined); // EPIPE once the CLI has stopped reading: what is being tested
    child.on('close', (status) => resolve({ status, stderr, written }));
    pump();
  });
}

t.test('--docker reads a bounded record: a large stream is refused early', needsOverlay, async (t) => {
  const s = scratch(t);
  const [target] = s.mkdirs('merged');
  const limit = 300 * 1024 * 1024;
  const r = await feedZeros(target as string, limit);
  t.equal(r.status, 1);
  t.match(r.stderr, /^ovl: mount: --docker: stdin holds more than 16 MiB, more than any docker inspect record; stopped reading/);
  t.ok(r.written < 64 * 1024 * 1024, `stopped reading after ${r.written >> 20} MiB of 300`);
  // A file that never ends: refused as soon as the cap is passed, not read until memory runs out.
  const endless = ovl(['mount', '--docker', '/dev/zero', target as string], { timeout: 60_000 });
  t.equal(endless.status, 1, 'exits by itself');
  t.match(endless.stderr, /--docker: '\/dev\/zero' holds more than 16 MiB/);
  t.same(mountsAt(target as string), []);
});

t.test('whiteout, opaque and convert refuse a layer of a mounted overlay, unless --allow-mounted', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, merged] = s.mkdirs('lower/d', 'upper', 'work', 'merged');
  s.write({ 'lower/f': 'f' });
  t.equal(ovl(['mount', '--lower', s.path('lower'), '--upper', upper as string, '--work', work as string, merged as string]).status, 0);
  const inUpper = ovl(['whiteout', s.path('upper/f')]);
  t.equal(inUpper.status, 1);
  t.match(inUpper.stderr, /^ovl: whiteout: EBUSY: path: '.*\/upper\/f' is in upper \('.*\/upper'\) of the overlay mounted on '.*\/merged'/);
  t.notOk(fs.existsSync(s.path('upper/f')), 'nothing made');
  const batch = stderrJson(ovl(['whiteout', '--json', '--root', s.path('lower'), 'new', 'd/deeper']));
  t.match(batch, { code: 'EBUSY', field: 'paths[0]', path: s.path('lower/new'), reason: /in lower\[0\]/, exitCode: 1 });
  t.same(fs.readdirSync(s.path('lower')).sort(), ['d', 'f'], 'none of the batch made');
  const mark = ovl(['opaque', lower as string]);
  t.equal(mark.status, 1);
  t.match(mark.stderr, /EBUSY: dir: .* is in lower\[0\]/);
  t.equal(isOpaqueSync(lower as string), false);
  t.equal(ovl(['opaque', '--get', lower as string]).status, 0, '--get only reads');
  t.equal(ovl(['whiteout', s.path('work/x')]).status, 1, 'work too');

  s.write({ 'lower/oci/.wh.gone': '' });
  const convert = ovl(['convert', '--to', 'overlay', s.path('lower/oci')]);
  t.equal(convert.status, 1, 'convert in place in a mounted lower');
  t.match(convert.stderr, /EBUSY: src: .* is in lower\[0\]/);
  t.ok(fs.existsSync(s.path('lower/oci/.wh.gone')), 'the marker is still there');
  t.match(stderrJson(ovl(['convert', '--json', '--to', 'oci', s.path('lower/oci'), s.path('upper/export')])), { code: 'EBUSY', field: 'dest' });
  t.notOk(fs.existsSync(s.path('upper/export')), 'no DEST written into a mounted upper');

  const allowed = ovl(['opaque', '--allow-mounted', lower as string]);
  t.equal(allowed.status, 0, allowed.stderr);
  t.equal(isOpaqueSync(lower as string), 'y');
  t.equal(ovl(['umount', merged as string]).status, 0);
  t.equal(ovl(['whiteout', s.path('upper/f')]).status, 0, 'not mounted any more');
  t.equal(ovl(['opaque', '--clear', lower as string]).status, 0);
});

t.test('-o words the CLI does not know are refused, named, before anything is touched', needsOverlay, async (t) => {
  const s = scratch(t);
  const [l, u, w, m] = s.mkdirs('l', 'u', 'w', 'm');
  const layers = ['--lower', l as string, '--upper', u as string, '--work', w as string];
  for (const [command, word] of [
    ['mount', 'bogus'],
    ['mount', 'loop'],
    ['mount', 'x-systemd.automount'],
    ['replace', 'nofail'],
  ] as const) {
    const r = ovl([command, '--json', '-o', `nosuid,${word},nodev`, ...layers, m as string]);
    t.equal(r.status, 1, `${command} -o ${word}`);
    t.match(stderrJson(r), { code: 'EINVAL', field: word, message: new RegExp(word.replace('.', '\\.')), exitCode: 1 });
    t.same(mountsAt(m as string), [], 'nothing mounted');
  }
  t.equal(ovl(['mount', ...layers, m as string]).status, 0);
  const remount = ovl(['mount', '-o', 'remount,bogus,ro', m as string]);
  t.equal(remount.status, 1);
  t.match(remount.stderr, /^ovl: mount: EINVAL: bogus: /);
  t.equal(mountOptionsOf(m as string)[0], 'rw', 'the remount changed nothing');
  t.equal(ovl(['umount', m as string]).status, 0);
  t.same(fs.readdirSync(u as string), [], 'nothing written');
});

// This kernel runs no LSM that takes the labels, so overlay refuses them itself.
const selinux = fs.existsSync('/sys/fs/selinux/enforce');
t.test('LSM labels in -o reach the kernel, and its answer reaches the user', { skip: needsOverlay.skip || (selinux && 'SELinux is active here: it takes the labels') }, async (t) => {
  const s = scratch(t);
  const [a, b, m] = s.mkdirs('a', 'b', 'm');
  const label = 'system_u:object_r:container_file_t:s0:c1,c2';
  const args = ['-o', `context="${label}",nosuid`, '--lower', a as string, '--lower', b as string, m as string];
  const r = ovl(['mount', ...args]);
  t.equal(r.status, 32, 'the kernel refused');
  if (kernelFeatures().overlayParsesParams) {
    t.match(r.stderr, /^ovl: mount: EINVAL: invalid argument, fsconfig 'context' \(overlay: Unknown parameter 'context'\)\n$/);
    t.match(stderrJson(ovl(['mount', '--json', ...args])), { code: 'EINVAL', syscall: 'fsconfig', field: 'context', detail: ["overlay: Unknown parameter 'context'"], exitCode: 32 });
  }
  const legacy = ovl(['mount', '--mechanism', 'mount', ...args]);
  t.equal(legacy.status, 32);
  t.match(legacy.stderr, /EINVAL: invalid argument, mount .*see dmesg/);
  for (const key of ['fscontext', 'defcontext', 'rootcontext']) {
    t.match(stderrJson(ovl(['mount', '--json', '-o', `${key}=u:r:t:s0`, '--lower', a as string, '--lower', b as string, m as string])), { exitCode: 32, code: 'EINVAL' }, key);
  }
  t.same(mountsAt(m as string), []);
  t.match(ovl(['mount', '-o', 'context="unclosed', '--lower', a as string, '--lower', b as string, m as string]).stderr, /^ovl: mount: EINVAL: context: the quote opened/);
});

t.test('mount --help says what --data needs as the kernels do: some refuse it without metacopy=on, 6.18 does not', needsOverlay, async (t) => {
  const help = ovl(['mount', '--help']).stdout;
  const data = help.slice(help.indexOf('\n      --data DIR'), help.indexOf('\n      --upper DIR'));
  t.notMatch(data, /mounts without metacopy=on/, 'no claim one kernel contradicts');
  t.match(data, /some kernels, 6\.12 among them, need to mount it/);
  const s = scratch(t);
  const [l, d, u, w, m] = s.mkdirs('l', 'd', 'u', 'w', 'm');
  // What this kernel does, asked through mount(8) with no check of ours.
  const raw = `lowerdir=${l}::${d},upperdir=${u},workdir=${w}`;
  const kernelMounts = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', raw, m as string]).status === 0;
  if (kernelMounts) t.equal(spawnSync('umount', [m as string]).status, 0);
  fs.rmSync(w as string, { recursive: true });
  fs.mkdirSync(w as string);
  const r = ovl(['mount', '--json', '--lower', l as string, '--data', d as string, '--upper', u as string, '--work', w as string, m as string]);
  t.equal(r.status === 0, kernelMounts, `ovl ${kernelMounts ? 'mounts' : 'refuses'} a data-only layer without metacopy, as the kernel does: ${r.stderr}`);
  if (r.status !== 0) return;
  const [info] = JSON.parse(ovl(['ls', '--json', m as string]).stdout) as Array<{ data: string[]; options: string[] }>;
  t.same(info?.data, [d]);
  t.notOk(info?.options.includes('metacopy=on'), 'metacopy is not on');
  t.equal(ovl(['umount', m as string]).status, 0);
});
