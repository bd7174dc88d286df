// The walkthroughs people try first (../shared/seeds), run through the built
// CLI as a subprocess, the way they would type them.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { lsJson, ovl, stderrJson } from '../helpers/cli';
import { loopDevicesOf, mountExt4Image, whyNoLoopExt4 } from '../helpers/filesystems';
import { needsOverlay, scratch } from '../helpers/scratch';
import { mountsBeneath } from '../helpers/mounts';

t.test('two lowers, the leftmost wins; writes land in the upper, lowers untouched (relative paths, -o)', needsOverlay, async (t) => {
  const s = scratch(t);
  s.mkdirs('layer1', 'layer2', 'upperlayer', 'workdir', 'mountedfs');
  s.write({
    'layer1/file1.txt': 'content for file1.txt in layer1\n',
    'layer2/file1.txt': 'content for file1.txt in layer2\n',
    'layer1/file2.txt': 'content for file2.txt in layer1\n',
    'layer2/file3.txt': 'content for file3.txt in layer2\n',
  });
  const r = ovl(['mount', '-o', 'lowerdir=layer1:layer2,upperdir=upperlayer,workdir=workdir', 'mountedfs'], { cwd: s.dir });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '', 'silent on success, as mount(8)');
  t.same(fs.readdirSync(s.path('mountedfs')).sort(), ['file1.txt', 'file2.txt', 'file3.txt']);
  t.equal(s.read('mountedfs/file1.txt'), 'content for file1.txt in layer1\n', 'the leftmost lower wins');
  t.equal(s.read('mountedfs/file3.txt'), 'content for file3.txt in layer2\n');

  fs.writeFileSync(s.path('mountedfs/file4.txt'), 'new content for file4.txt\n');
  fs.writeFileSync(s.path('mountedfs/file1.txt'), 'new content for file1.txt\n');
  t.same(fs.readdirSync(s.path('upperlayer')).sort(), ['file1.txt', 'file4.txt'], 'writes land in the upper');
  t.equal(s.read('upperlayer/file1.txt'), 'new content for file1.txt\n');
  t.equal(s.read('layer1/file1.txt'), 'content for file1.txt in layer1\n', 'layer1 untouched');
  t.equal(s.read('layer2/file1.txt'), 'content for file1.txt in layer2\n', 'layer2 untouched');

  const [info] = lsJson('mountedfs', s.dir);
  t.match(info, { target: s.path('mountedfs'), lower: [s.path('layer1'), s.path('layer2')], upper: s.path('upperlayer'), work: s.path('workdir'), notes: [] });
  const u = ovl(['umount', 'mountedfs'], { cwd: s.dir });
  t.equal(u.status, 0, u.stderr);
  t.same(fs.readdirSync(s.path('mountedfs')), [], 'unmounted');
});

t.test('the upper hides the lower; `ovl ls TARGET` shows it as findmnt would', needsOverlay, async (t) => {
  const s = scratch(t);
  s.mkdirs('lowerdir', 'upperdir', 'workdir', 'mergedir');
  s.write({ 'lowerdir/file1': 'lower\n', 'lowerdir/file2': '', 'upperdir/file1': 'upper\n' });
  t.equal(ovl(['mount', '-o', 'lowerdir=lowerdir,upperdir=upperdir,workdir=workdir', 'mergedir'], { cwd: s.dir }).status, 0);
  t.same(fs.readdirSync(s.path('mergedir')).sort(), ['file1', 'file2']);
  t.equal(s.read('mergedir/file1'), 'upper\n');
  const table = ovl(['ls', 'mergedir'], { cwd: s.dir });
  t.equal(table.status, 0);
  const [header, row, ...more] = table.stdout.trimEnd().split('\n');
  t.match(header, /^TARGET +LAYERS +UPPER +OPTIONS$/);
  t.same(more, []);
  t.same(row?.split(/ +/).slice(0, 3), [s.path('mergedir'), '1', s.path('upperdir')]);
  t.match(row, /rw,relatime/);
  fs.writeFileSync(s.path('mergedir/file3'), '');
  t.ok(fs.existsSync(s.path('upperdir/file3')), 'a new file lands in the upper');
  t.notOk(fs.existsSync(s.path('lowerdir/file3')));
  t.equal(ovl(['umount', s.path('mergedir')]).status, 0);
});

t.test('rm through the mount leaves a 0/0 whiteout in the upper; the lower keeps the file', needsOverlay, async (t) => {
  const s = scratch(t);
  const [layer1, layer2, work, merged] = s.mkdirs('layer1', 'layer2', 'work', 'merged');
  t.equal(ovl(['mount', '--lower', layer1 as string, '--upper', layer2 as string, '--work', work as string, merged as string]).status, 0);
  fs.writeFileSync(s.path('layer1/foo'), '');
  t.ok(fs.existsSync(s.path('merged/foo')), 'a file touched in the lower shows');
  fs.writeFileSync(s.path('merged/bar'), '');
  t.ok(fs.existsSync(s.path('layer2/bar')), 'a file touched in merged lands in the upper');
  fs.writeFileSync(s.path('merged/foo'), 'hello\n');
  t.equal(s.read('layer1/foo'), '', 'the lower file is unchanged');
  t.equal(s.read('layer2/foo'), 'hello\n', 'the write went to the upper');

  fs.writeFileSync(s.path('layer1/baz'), 'hi\n');
  fs.rmSync(s.path('merged/baz'));
  t.notOk(fs.existsSync(s.path('merged/baz')), 'gone from the merged view');
  t.equal(s.read('layer1/baz'), 'hi\n', 'still in the lower');
  const whiteout = fs.statSync(s.path('layer2/baz'));
  t.ok(whiteout.isCharacterDevice(), 'the upper holds a character device');
  t.equal(whiteout.rdev, 0, 'device 0/0: a whiteout');
  t.equal(ovl(['umount', merged as string]).status, 0);
});

t.test('reversing the lower order changes which layer wins', needsOverlay, async (t) => {
  const s = scratch(t);
  const [layer0, layer1, layer2, work, merged] = s.mkdirs('layer0', 'layer1', 'layer2', 'work', 'merged');
  s.write({ 'layer0/qux': 'Hello from Layer 0\n', 'layer1/qux': 'Hello from Layer 1\n' });
  const mountWith = (lowers: string[]) => ovl(['mount', ...lowers.flatMap((l) => ['--lower', l]), '--upper', layer2 as string, '--work', work as string, merged as string]);
  t.equal(mountWith([layer0 as string, layer1 as string]).status, 0);
  t.equal(s.read('merged/qux'), 'Hello from Layer 0\n');
  t.equal(ovl(['umount', merged as string]).status, 0);
  t.equal(mountWith([layer1 as string, layer0 as string]).status, 0);
  t.equal(s.read('merged/qux'), 'Hello from Layer 1\n', 'the other layer is on top now');
  t.same(lsJson(merged as string)[0]?.lower, [layer1, layer0]);
  t.equal(ovl(['umount', merged as string]).status, 0);
});

const loopSkip = needsOverlay.skip || whyNoLoopExt4() || false;

t.test('lower and upper on loop-mounted ext4 images, upper and work on the same filesystem', { skip: loopSkip }, async (t) => {
  const s = scratch(t);
  const lowerImage = s.path('lower-fs.img');
  const upperImage = s.path('upper-fs.img');
  mountExt4Image(lowerImage, s.path('lower'));
  mountExt4Image(upperImage, s.path('upperfs'));
  fs.writeFileSync(s.path('lower/lower-file.txt'), 'hello world\n');
  execFileSync('mount', ['-o', 'remount,ro', s.path('lower')]);
  const [upper, work, overlay] = s.mkdirs('upperfs/upper', 'upperfs/workdir', 'overlay');

  const r = ovl(['mount', '--json', '--lower', s.path('lower'), '--upper', upper as string, '--work', work as string, overlay as string]);
  t.equal(r.status, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { target: overlay, mountId: Number });
  t.equal(s.read('overlay/lower-file.txt'), 'hello world\n', 'read through from the read-only ext4 lower');
  fs.writeFileSync(s.path('overlay/234'), 'new\n');
  t.equal(s.read('upperfs/upper/234'), 'new\n', 'the new file is on the upper ext4');
  fs.rmSync(s.path('overlay/lower-file.txt'));
  t.ok(fs.statSync(s.path('upperfs/upper/lower-file.txt')).isCharacterDevice(), 'a whiteout on the upper ext4');
  t.equal(s.read('lower/lower-file.txt'), 'hello world\n', 'the read-only lower keeps it');

  t.equal(ovl(['umount', overlay as string]).status, 0);
  execFileSync('umount', [s.path('lower')]);
  execFileSync('umount', [s.path('upperfs')]);
  t.same(mountsBeneath(s.dir), [], 'nothing left mounted');
  t.same([...loopDevicesOf(lowerImage), ...loopDevicesOf(upperImage)], [], 'the loop devices are freed');
});

t.test('upper and work on different filesystems: refused, they must be on the same mount', { skip: loopSkip }, async (t) => {
  const s = scratch(t);
  const image = s.path('upper-fs.img');
  mountExt4Image(image, s.path('upperfs'));
  const [lower, upper, work, merged] = s.mkdirs('lower', 'upperfs/upper', 'work', 'merged');
  const args = ['--lower', lower as string, '--upper', upper as string, '--work', work as string, merged as string];

  const r = ovl(['mount', ...args]);
  t.equal(r.status, 1, 'refused before the kernel: exit 1');
  t.match(r.stderr, /^ovl: mount: EXDEV: work: upper and work must be on the same mount/);
  t.equal(r.stderr.split('\n').length, 2, 'one line');
  const j = ovl(['mount', '--json', ...args]);
  t.match(stderrJson(j), { code: 'EXDEV', field: 'work', reason: /must be on the same mount/, exitCode: 1 });
  t.same(fs.readdirSync(merged as string), [], 'nothing mounted');
  t.same(fs.readdirSync(upper as string), [], 'nothing written to upper');

  execFileSync('umount', [s.path('upperfs')]);
  t.same(loopDevicesOf(image), [], 'the loop device is freed');
});

// Seed 000 marks upper/{root,tmp} opaque (setfattr -n trusted.overlay.opaque -v y), here with `ovl opaque`.
t.test('an opaque directory hides the lower directory of the same name', needsOverlay, async (t) => {
  const s = scratch(t);
  s.mkdirs('lower/root', 'lower/tmp', 'upper/root', 'upper/tmp', 'work', 'merged');
  s.write({ 'lower/root/.bash_history': 'secret\n', 'lower/tmp/socket': '', 'lower/etc/hostname': 'host\n' });
  const args = ['--lower', s.path('lower'), '--upper', s.path('upper'), '--work', s.path('work'), s.path('merged')];
  t.equal(ovl(['mount', ...args]).status, 0);
  t.same(fs.readdirSync(s.path('merged/root')), ['.bash_history'], 'not yet opaque: the lower shows through');
  t.equal(ovl(['umount', s.path('merged')]).status, 0);

  const r = ovl(['opaque', s.path('upper/root'), s.path('upper/tmp')]);
  t.equal(r.status, 0, r.stderr);
  t.equal(ovl(['opaque', '--get', s.path('upper/root')]).stdout, 'y\n');
  t.equal(ovl(['mount', ...args]).status, 0);
  t.same(fs.readdirSync(s.path('merged/root')), [], '/root is empty');
  t.same(fs.readdirSync(s.path('merged/tmp')), [], '/tmp is empty');
  t.equal(s.read('merged/etc/hostname'), 'host\n', 'the rest shows through');
  t.equal(s.read('lower/root/.bash_history'), 'secret\n', 'the lower keeps its files');
  t.equal(ovl(['umount', s.path('merged')]).status, 0);
});
