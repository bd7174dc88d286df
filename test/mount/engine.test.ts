// The mount engine on the real kernel: deep stacks of long paths through
// every mechanism this kernel has, checks made on the opened directories,
// and the kernel's own words when only the kernel can see the problem.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { kernelFeatures, mountSync, type MechanismName } from '../../lib/index';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

const LONG = 'x'.repeat(200);

function supported(mechanism: MechanismName): boolean {
  const k = kernelFeatures();
  if (mechanism === 'fsconfig-fd') return k.layerFd;
  if (mechanism === 'fsconfig-path') return k.lowerdirPlus;
  return true;
}

/** 500 layers, each path over 200 bytes, each with a file of its own and a shared one. */
function deepStack(s: Scratch, count: number): string[] {
  const layers: string[] = [];
  for (let i = 0; i < count; i++) {
    const dir = s.path(LONG, `layer-${String(i).padStart(3, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `only-${i}`), String(i));
    fs.writeFileSync(path.join(dir, 'shared'), String(i));
    layers.push(dir);
  }
  return layers;
}

t.test('500 lower layers with paths over 200 bytes', needsOverlay, async (t) => {
  const s = scratch(t);
  const lower = deepStack(s, 500);
  t.ok(lower.every((l) => l.length > 200));
  const [target] = s.mkdirs('merged');

  // What each mechanism can do with this stack: mount(2) has one page.
  const expected: Record<MechanismName | 'auto', 'mounts' | 'E2BIG'> = {
    auto: 'mounts',
    'fsconfig-fd': 'mounts',
    'fsconfig-path': 'mounts',
    mount: 'E2BIG',
    'mount-fd-path': 'E2BIG',
    'mount-fd-relative': 'mounts',
  };
  for (const [mechanism, outcome] of Object.entries(expected) as Array<[MechanismName | 'auto', string]>) {
    if (mechanism !== 'auto' && !supported(mechanism)) continue;
    const options = { lower, target, ...(mechanism === 'auto' ? {} : { mechanism }) };
    if (outcome === 'E2BIG') {
      t.throws(() => mountSync(options), { code: 'E2BIG', field: 'lower', message: /one page/ }, `${mechanism}: refused, never truncated`);
      t.same(fs.readdirSync(target), [], `${mechanism}: nothing mounted`);
      continue;
    }
    const m = mountSync(options);
    try {
      const names = new Set(fs.readdirSync(target));
      const missing = lower.map((_, i) => `only-${i}`).filter((n) => !names.has(n));
      t.same(missing, [], `${m.mechanism}: every layer's file shows`);
      t.equal(fs.readFileSync(path.join(target, 'shared'), 'utf8'), '0', `${m.mechanism}: the first layer is the top`);
    } finally {
      m.unmountSync();
    }
  }
});

t.test('a layer path over 255 bytes', needsOverlay, async (t) => {
  const s = scratch(t);
  const deep = s.path('a'.repeat(150), 'b'.repeat(150));
  fs.mkdirSync(deep, { recursive: true });
  fs.writeFileSync(path.join(deep, 'f'), 'deep');
  const [other, upper, work, target] = s.mkdirs('other', 'upper', 'work', 'merged');
  t.ok(deep.length > 255);
  for (const mechanism of ['fsconfig-fd', 'fsconfig-path', 'mount', 'mount-fd-path', 'mount-fd-relative'] as const) {
    if (!supported(mechanism)) continue;
    const m = mountSync({ lower: [deep, other], upper, work, target, mechanism });
    try {
      t.equal(s.read('merged/f'), 'deep', mechanism);
    } finally {
      m.unmountSync();
    }
  }
});

t.test("paths with ',' ':' '\\' and spaces mount and read back", needsOverlay, async (t) => {
  const s = scratch(t);
  const names = ['a,b', 'c:d', 'e\\f', 'g h', 'x,upperdir=', 'tab\there'];
  const lower = s.mkdirs(...names.map((n) => `lower ${n}`));
  names.forEach((n, i) => s.write({ [`lower ${n}/file-${i}`]: n }));
  const [upper, work, target] = s.mkdirs('up,per:\\', 'wo,rk:\\', 'mer ged');
  for (const mechanism of ['fsconfig-fd', 'fsconfig-path', 'mount', 'mount-fd-path', 'mount-fd-relative'] as const) {
    if (!supported(mechanism)) continue;
    const m = mountSync({ lower, upper, work, target, mechanism });
    try {
      names.forEach((n, i) => t.equal(s.read(`mer ged/file-${i}`), n, `${mechanism}: ${JSON.stringify(n)}`));
      fs.writeFileSync(path.join(target, 'written'), mechanism);
      t.equal(s.read('up,per:\\/written'), mechanism, `${mechanism}: writes reach the upper`);
    } finally {
      m.unmountSync();
    }
  }
});

t.test('checks made on the opened directories', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, target, other] = s.mkdirs('lower', 'upper', 'work', 'merged', 'other-fs');
  s.mkdirs('upper/inner', 'work/inner');
  s.write({ 'a-file': '' });
  execFileSync('mount', ['-t', 'tmpfs', 'scratch', other]);
  s.mkdirs('other-fs/work');

  t.throws(() => mountSync({ lower: [lower], upper, work: s.path('other-fs/work'), target }), {
    code: 'EXDEV',
    field: 'work',
    message: /upper and work must be on the same mount/,
  });
  t.throws(() => mountSync({ lower: [lower], upper, work: s.path('upper/inner'), target }), {
    field: 'work',
    message: /work must not be inside upper/,
  });
  t.throws(() => mountSync({ lower: [lower], upper: s.path('work/inner'), work, target }), {
    field: 'upper',
    message: /upper must not be inside work/,
  });
  t.throws(() => mountSync({ lower: [lower], upper, work: upper, target }), { field: 'work', message: /different directories/ });
  t.throws(() => mountSync({ lower: [lower, s.path('a-file')], target }), { code: 'ENOTDIR', field: 'lower[1]', path: s.path('a-file') });
  t.throws(() => mountSync({ lower: [lower], upper: s.path('a-file'), work, target }), { code: 'ENOTDIR', field: 'upper' });
  t.throws(() => mountSync({ lower: [lower], upper, work, target: s.path('nope') }), { code: 'ENOENT', field: 'target' });
  t.same(fs.readdirSync(target), [], 'nothing mounted');

  // The same mount is what counts, not the same filesystem: a bind mount of
  // the upper's filesystem is another mount (KERNEL.md).
  const bind = s.path('bind');
  fs.mkdirSync(bind);
  execFileSync('mount', ['--bind', s.path('work'), bind]);
  t.throws(() => mountSync({ lower: [lower], upper, work: bind, target }), { code: 'EXDEV', field: 'work' });
});

t.test("the kernel's own words when only the kernel can see the problem", needsOverlay, async (t) => {
  const s = scratch(t);
  const [l1, iu, iw, inner, lower, target] = s.mkdirs('l1', 'iu', 'iw', 'inner', 'lower', 'merged');
  const below = mountSync({ lower: [l1], upper: iu, work: iw, target: inner });
  unmountAtEnd(t, below);
  // Upper and work on one mount, separate subtrees: our checks pass, but
  // that mount is an overlay, which the kernel refuses as an upper.
  const [upper, work] = s.mkdirs('inner/upper', 'inner/work');
  const err = t.throws(() => mountSync({ lower: [lower], upper, work, target })) as Error & { detail: string[] };
  t.match(err, { name: 'OverlayError', code: 'EINVAL' });
  if (kernelFeatures().lowerdirPlus) {
    t.match(err, { syscall: 'fsconfig', detail: [/overlay: .*not supported as upperdir/] }, 'detail carries the kernel log');
    t.match(err.message, /\(overlay: .*not supported as upperdir\)$/, 'and so does the message');
  } else {
    t.match(err, { syscall: 'mount', detail: [] }, 'mount(2) leaves the reason in dmesg only');
  }
  t.same(fs.readdirSync(target), [], 'nothing mounted');
  below.unmountSync();
});

t.test('data-only layers: mounted, but not listed in the merged view', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, data, upper, work, target] = s.mkdirs('lower', 'data', 'upper', 'work', 'merged');
  s.write({ 'lower/visible': 'l', 'data/hidden': 'd' });
  const k = kernelFeatures();
  if (!k.overlayParsesParams) {
    // Data-only layers arrived in 6.5, with the kernel's own parameter parser: refused before the kernel, saying so.
    t.throws(() => mountSync({ lower: [lower], data: [data], upper, work, target, metacopy: true }), { code: 'ENOSYS', field: 'data', message: /6\.5/ }, 'refused before 6.5');
    return;
  }
  const mechanisms = (['fsconfig-fd', 'fsconfig-path', 'mount'] as const).filter(supported);
  for (const mechanism of mechanisms) {
    const m = mountSync({ lower: [lower], data: [data], upper, work, target, metacopy: true, mechanism });
    try {
      t.same(fs.readdirSync(target), ['visible'], mechanism);
    } finally {
      m.unmountSync();
    }
  }
});
