// ovl mount, umount and ls against the real kernel: options from -o and flags,
// JSON output, the kernel's refusals (exit 32), and names no format should break.
import * as fs from 'node:fs';
import t from 'tap';
import { formatOptions, kernelFeatures } from '../../lib/index';
import { lsJson, ovl, stderrJson } from '../helpers/cli';
import { needsOverlay, scratch } from '../helpers/scratch';

t.test('-o and the flags build one request; mount(8) flags inside -o apply', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, c, upper, work, merged] = s.mkdirs('a', 'b', 'c', 'upper', 'work', 'merged');
  s.write({ 'c/from-c': 'c' });
  const r = ovl(['mount', '--json', '-o', `lowerdir=${a},ro,nosuid`, '-o', 'nodev,noexec,noatime', '--lower', b as string, '--lower', c as string, '--upper', upper as string, '--work', work as string, merged as string]);
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.same(Object.keys(out).sort(), ['mechanism', 'mountId', 'target', 'warnings']);
  t.match(out, { target: merged, mechanism: String, mountId: Number, warnings: Array });
  const [info] = lsJson(merged as string);
  t.match(info, { mountId: out.mountId, lower: [a, b, c], upper, work });
  t.same(info?.mountOptions, ['ro', 'nosuid', 'nodev', 'noexec', 'noatime']);
  t.equal(s.read('merged/from-c'), 'c');
  t.throws(() => fs.writeFileSync(s.path('merged/x'), ''), { code: 'EROFS' });
  t.equal(ovl(['umount', merged as string]).status, 0);

  t.equal(ovl(['mount', '-r', '--lower', a as string, '--lower', b as string, merged as string]).status, 0, '-r');
  t.same(lsJson(merged as string)[0]?.mountOptions?.toString().split(',')[0], 'ro');
  t.equal(ovl(['umount', merged as string]).status, 0);
});

t.test('the kernel refuses: exit 32, with its own words when it gives them', needsOverlay, async (t) => {
  const s = scratch(t);
  const [l, u, w, m, l2, m2] = s.mkdirs('l', 'u', 'w', 'm', 'l2', 'm2');
  t.equal(ovl(['mount', '--lower', l as string, '--upper', u as string, '--work', w as string, m as string]).status, 0);
  // An upper inside an overlay: the kernel refuses it, our checks do not look.
  const [nestedUpper, nestedWork] = s.mkdirs('m/u', 'm/w');
  const args = ['--lower', l2 as string, '--upper', nestedUpper as string, '--work', nestedWork as string, m2 as string];
  const k = kernelFeatures();
  if (k.overlayParsesParams) {
    const r = ovl(['mount', ...args]);
    t.equal(r.status, 32);
    t.match(r.stderr, /^ovl: mount: EINVAL: invalid argument, fsconfig 'upperdir' '.*' \(overlay: filesystem on .* not supported as upperdir\)\n$/);
    t.match(stderrJson(ovl(['mount', '--json', ...args])), { code: 'EINVAL', syscall: 'fsconfig', field: 'upper', detail: [/not supported as upperdir/], exitCode: 32 });
  }
  const legacy = ovl(['mount', '--mechanism', 'mount', ...args]);
  t.equal(legacy.status, 32, 'mount(2) refuses too');
  t.match(legacy.stderr, /^ovl: mount: EINVAL: invalid argument, mount '.*' \(the kernel's reason is in its log: see dmesg\)\n$/);
  t.same(fs.readdirSync(m2 as string), [], 'nothing mounted');
  t.equal(ovl(['umount', m as string]).status, 0);
});

t.test('umount: busy is refused (32) with a pointer to --lazy, which detaches it', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, merged] = s.mkdirs('a', 'b', 'merged');
  s.write({ 'a/f': 'x' });
  t.equal(ovl(['mount', '--lower', a as string, '--lower', b as string, merged as string]).status, 0);
  const fd = fs.openSync(s.path('merged/f'), 'r');
  t.teardown(() => fs.closeSync(fd));
  const busy = ovl(['umount', merged as string]);
  t.equal(busy.status, 32);
  t.match(busy.stderr, /EBUSY: .*umount2 .*\(target is busy; 'ovl umount --lazy' detaches it now\)/);
  const lazy = ovl(['umount', '-l', merged as string]);
  t.equal(lazy.status, 0, lazy.stderr);
  t.same(fs.readdirSync(merged as string), [], 'detached');
});

const HOSTILE = ['l,1', 'l:2', 'sp ace', 'ta\tb', 'new\nline', 'back\\slash', 'eq=x,upperdir=y'];

for (const mechanism of ['fsconfig-fd', 'mount'] as const) {
  t.test(`ls reads back hostile names mounted by ${mechanism}, from flags and from an escaped -o`, needsOverlay, async (t) => {
    if (mechanism === 'fsconfig-fd' && !kernelFeatures().layerFd) return;
    const s = scratch(t);
    const lower = s.mkdirs(...HOSTILE.map((n) => `lower/${n}`));
    const [upper, work, merged] = s.mkdirs('up per,:\\', 'wo\nrk', 'mer ged\n');
    for (const how of ['flags', '-o'] as const) {
      const request =
        how === 'flags'
          ? [...lower.flatMap((l) => ['--lower', l]), '--upper', upper as string, '--work', work as string]
          : ['-o', formatOptions({ lower, upper: upper as string, work: work as string })];
      const r = ovl(['mount', '--mechanism', mechanism, ...request, merged as string]);
      t.equal(r.status, 0, `${how}: ${r.stderr}`);
      const [info] = lsJson(merged as string);
      t.match(info, { target: merged, lower, upper, work, notes: [] }, `${how}: the original paths`);
      const table = ovl(['ls', merged as string]);
      t.equal(table.stdout.trimEnd().split('\n').length, 2, 'the table keeps a newline in a name on its row');
      t.match(table.stdout, 'mer\\040ged\\012', 'escaped as mountinfo escapes');
      t.equal(ovl(['umount', merged as string]).status, 0);
    }
  });
}

t.test('ls says which layer names are fd names, not paths', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, upper, work, merged] = s.mkdirs('a', 'b', 'upper', 'work', 'merged');
  t.equal(ovl(['mount', '--mechanism', 'mount-fd-path', '--lower', a as string, '--lower', b as string, '--upper', upper as string, '--work', work as string, merged as string]).status, 0);
  const [info] = lsJson(merged as string);
  t.match(info?.lower, [/^\/proc\/self\/fd\/\d+$/, /^\/proc\/self\/fd\/\d+$/], 'the names as the kernel shows them');
  t.same((info?.notes as Array<{ field: string; kind: string }>).map((n) => [n.field, n.kind]), [
    ['lower[0]', 'fd-name'],
    ['lower[1]', 'fd-name'],
    ['upper', 'fd-name'],
    ['work', 'fd-name'],
  ]);
  const table = ovl(['ls', merged as string]);
  t.equal(table.status, 0);
  t.match(table.stderr, /^ovl: ls: note: .*merged: lower\[0-1\], upper, work are fd names of the process that mounted it, not paths to the layers\n$/);
  t.equal(ovl(['umount', merged as string]).status, 0);

  t.equal(ovl(['mount', '--mechanism', 'mount-fd-relative', '--lower', a as string, '--lower', b as string, merged as string]).status, 0);
  t.match(ovl(['ls', merged as string]).stderr, /lower\[0-1\] are relative names \(fd numbers/);
  t.equal(ovl(['umount', merged as string]).status, 0);
});

t.test('ls without a target lists ours among the others', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, merged] = s.mkdirs('a', 'b', 'merged');
  t.equal(ovl(['mount', '--lower', a as string, '--lower', b as string, merged as string]).status, 0);
  const r = ovl(['ls', '--json']);
  t.equal(r.status, 0);
  const mine = (JSON.parse(r.stdout) as Array<{ target: string; upper: unknown; work: unknown }>).filter((m) => m.target === merged);
  t.match(mine, [{ upper: null, work: null }], 'no upper: null, not missing');
  // No upper: the superblock is read-only ('ro' among the options) though the mount flag says rw.
  t.match(ovl(['ls']).stdout, new RegExp(`^${merged}  +2  +-  +(\\S*,)?ro(,|$)`, 'm'));
  t.equal(ovl(['umount', merged as string]).status, 0);
});
