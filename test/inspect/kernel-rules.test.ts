// Every refusal the library makes before the kernel, put to the kernel itself:
// the same option string through mount(8) (`mount -t overlay`, mount(2) or
// fsconfig as util-linux chooses, no check of ours in between) and through
// parseOptions + mountSync. A rule that refuses what this kernel mounts fails
// here, unless it is one of ours, which docs/api.md lists under `mount` (`ours` below says why).
// Run on 6.18 by `npm test` and on 6.1 and 6.12 by `npm run test:vm`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { kernelFeatures, mountSync, OverlayError, parseOptions, remountSync, umountSync } from '../../lib/index';
import { native } from '../../lib/core/native';
import { mountTmpfs } from '../helpers/filesystems';
import { mountsAt } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

interface Case {
  name: string;
  /** mount(8) -o text; {l1} {l2} {d} {u} {w} {file} {ow} (work on another tmpfs) {uw} (work inside upper) are filled in. */
  options: string;
  /** What every kernel from 6.1 on does with it, where that is known for all of them. */
  kernel?: 'refuses' | 'mounts';
  /** A refusal of ours (the kernel mounts it): why, as docs/api.md says. */
  ours?: string;
}

const UW = 'upperdir={u},workdir={w}';
const CASES: Case[] = [
  { name: 'two lowers, no upper', options: 'lowerdir={l1}:{l2}', kernel: 'mounts' },
  { name: 'one lower, no upper', options: 'lowerdir={l1}', kernel: 'refuses' },
  { name: 'one lower and a data layer, no upper (composefs)', options: 'lowerdir={l1}::{d}' },
  { name: 'one lower and a data layer, no upper, metacopy and redirects', options: 'lowerdir={l1}::{d},metacopy=on,redirect_dir=on' },
  { name: 'no lowerdir', options: UW, kernel: 'refuses' },
  { name: 'upper without work', options: 'lowerdir={l1},upperdir={u}', kernel: 'refuses' },
  { name: 'work without upper', options: 'lowerdir={l1}:{l2},workdir={w}', kernel: 'mounts', ours: 'upper and work are given together: a work directory alone is ignored by the kernel, so it is a mistake' },
  { name: 'volatile without upper', options: 'lowerdir={l1}:{l2},volatile', kernel: 'mounts', ours: 'volatile means nothing without an upper: the kernel ignores it, so it is a mistake' },
  { name: 'work inside upper', options: 'lowerdir={l1},upperdir={u},workdir={uw}', kernel: 'refuses' },
  { name: 'upper and work on two mounts', options: 'lowerdir={l1},upperdir={u},workdir={ow}', kernel: 'refuses' },
  { name: 'a lower twice', options: 'lowerdir={l1}:{l1}', kernel: 'refuses' },
  { name: 'a lower that is the upper', options: 'lowerdir={u},' + UW, kernel: 'refuses' },
  { name: 'a lower that is a file', options: 'lowerdir={file}:{l2}', kernel: 'refuses' },
  { name: 'metacopy=on, redirect_dir=follow', options: `lowerdir={l1},${UW},metacopy=on,redirect_dir=follow` },
  { name: 'metacopy=on, redirect_dir=nofollow', options: `lowerdir={l1},${UW},metacopy=on,redirect_dir=nofollow` },
  { name: 'metacopy=on, redirect_dir=off', options: `lowerdir={l1},${UW},metacopy=on,redirect_dir=off` },
  { name: 'metacopy=on, redirect_dir=on', options: `lowerdir={l1},${UW},metacopy=on,redirect_dir=on` },
  { name: 'metacopy=on, redirect_dir=follow, no upper', options: 'lowerdir={l1}:{l2},metacopy=on,redirect_dir=follow' },
  { name: 'metacopy=on, redirect_dir=off, no upper', options: 'lowerdir={l1}:{l2},metacopy=on,redirect_dir=off' },
  { name: 'nfs_export=on, index=off', options: `lowerdir={l1},${UW},nfs_export=on,index=off` },
  { name: 'nfs_export=on, index=off, no upper', options: 'lowerdir={l1}:{l2},nfs_export=on,index=off' },
  { name: 'nfs_export=on, index=off, redirect_dir=nofollow, no upper', options: 'lowerdir={l1}:{l2},nfs_export=on,index=off,redirect_dir=nofollow' },
  { name: 'nfs_export=on, metacopy=on', options: `lowerdir={l1},${UW},nfs_export=on,metacopy=on` },
  { name: 'nfs_export=on, metacopy=on, no upper', options: 'lowerdir={l1}:{l2},nfs_export=on,metacopy=on' },
  { name: 'userxattr, redirect_dir=on', options: `lowerdir={l1},${UW},userxattr,redirect_dir=on` },
  { name: 'userxattr, redirect_dir=follow', options: `lowerdir={l1},${UW},userxattr,redirect_dir=follow` },
  { name: 'userxattr, redirect_dir=off', options: `lowerdir={l1},${UW},userxattr,redirect_dir=off` },
  { name: 'userxattr, redirect_dir=nofollow', options: `lowerdir={l1},${UW},userxattr,redirect_dir=nofollow` },
  { name: 'userxattr, metacopy=on', options: `lowerdir={l1},${UW},userxattr,metacopy=on` },
  { name: 'userxattr, metacopy=on, no upper', options: 'lowerdir={l1}:{l2},userxattr,metacopy=on' },
  { name: 'userxattr, verity=on', options: `lowerdir={l1},${UW},userxattr,verity=on` },
  { name: 'verity=on, metacopy=off', options: `lowerdir={l1},${UW},verity=on,metacopy=off` },
  { name: 'verity=require, metacopy=off, no upper', options: 'lowerdir={l1}:{l2},verity=require,metacopy=off' },
  { name: 'upperdir twice', options: `lowerdir={l1},${UW},upperdir={u}`, kernel: 'mounts', ours: 'an option given twice is refused: the kernel silently takes the last' },
  { name: 'index twice', options: 'lowerdir={l1}:{l2},index=off,index=off', kernel: 'mounts', ours: 'an option given twice is refused: the kernel silently takes the last' },
  { name: 'lowerdir twice', options: 'lowerdir={l2},lowerdir={l1}:{l2}', kernel: 'mounts', ours: 'an option given twice is refused: the kernel silently takes the last' },
  { name: 'lowerdir+ after lowerdir=', options: 'lowerdir={l1},lowerdir+={l2}', kernel: 'refuses' },
  { name: 'lowerdir+ after datadir+', options: 'lowerdir+={l1},datadir+={d},lowerdir+={l2}', kernel: 'refuses' },
];

interface Layers {
  [name: string]: string;
}

function layersOf(s: Scratch): Layers {
  const [l1, l2, d, u, w] = s.mkdirs('l1', 'l2', 'd', 'u', 'w');
  s.write({ 'l1/a': 'one', 'l2/b': 'two', file: 'x' });
  const other = mountTmpfs(s, 'other');
  fs.mkdirSync(path.join(other, 'w'));
  return { l1: l1!, l2: l2!, d: d!, u: u!, w: w!, uw: path.join(u!, 'w'), ow: path.join(other, 'w'), file: s.path('file') };
}

function fill(options: string, layers: Layers): string {
  return options.replace(/\{(\w+)\}/g, (_, name: string) => {
    const dir = layers[name];
    if (dir === undefined) throw new Error(`no layer {${name}}`);
    return dir;
  });
}

/** Fresh upper and work, so a case never sees what an earlier one left. */
function freshUpper(s: Scratch, layers: Layers): void {
  for (const dir of [layers.u!, layers.w!, layers.ow!]) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
  }
  fs.mkdirSync(layers.uw!);
}

/** mount(8) with the text as it is; unmounted again at once. True when it mounted. */
function kernelMounts(text: string, target: string, cwd?: string): boolean {
  const mounted = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', text, target], { stdio: 'ignore', cwd }).status === 0;
  if (mounted) spawnSync('umount', [target], { stdio: 'ignore' });
  return mounted;
}

type LibraryAnswer = { mounted: true } | { mounted: false; err: OverlayError };

function libraryMounts(text: string, target: string): LibraryAnswer {
  try {
    mountSync({ lower: [], ...parseOptions(text), target }).unmountSync();
    return { mounted: true };
  } catch (err) {
    if (!(err instanceof OverlayError)) throw err;
    return { mounted: false, err };
  }
}

const says = (mounted: boolean): string => (mounted ? 'mounts' : 'refuses');

t.test('each rule of the library against the kernel', needsOverlay, async (t) => {
  const s = scratch(t);
  const layers = layersOf(s);
  const [target] = s.mkdirs('merged');
  for (const c of CASES) {
    freshUpper(s, layers);
    const text = fill(c.options, layers);
    const kernel = kernelMounts(text, target!);
    freshUpper(s, layers);
    const library = libraryMounts(text, target!);
    const before = !library.mounted && library.err.beforeKernel;
    t.comment(`${c.name}: kernel ${says(kernel)}, library ${says(library.mounted)}${before ? ` before the kernel (${(library as { err: Error }).err.message})` : ''}`);
    if (c.kernel) t.equal(says(kernel), c.kernel, `${c.name}: the kernel ${c.kernel}`);
    if (c.ours) {
      t.ok(before, `${c.name}: refused by a rule of ours (${c.ours})`);
    } else {
      t.equal(says(library.mounted), says(kernel), `${c.name}: the library does what the kernel does`);
      if (before) t.notOk(kernel, `${c.name}: refused before the kernel only because the kernel refuses it too`);
    }
    t.same(mountsAt(target!), [], `${c.name}: nothing left mounted`);
  }
});

t.test('data-only layers before 6.5 are refused saying so', needsOverlay, async (t) => {
  const s = scratch(t);
  const layers = layersOf(s);
  const [target] = s.mkdirs('merged');
  const old = !kernelFeatures().overlayParsesParams;
  // metacopy=on: 6.5 to 6.12 at least refuse data-only layers without it (dmesg: "lower data-only dirs require metacopy support").
  const text = fill('lowerdir={l1}:{l2}::{d},metacopy=on,redirect_dir=on', layers);
  t.equal(kernelMounts(text, target!), !old, `the kernel ${old ? 'refuses' : 'mounts'} data-only layers`);
  const library = libraryMounts(text, target!);
  if (old) {
    t.notOk(library.mounted);
    t.match((library as { err: OverlayError }).err, { code: 'ENOSYS', field: 'data', message: /data-only layers need Linux 6\.5\+/, beforeKernel: true });
  } else {
    t.ok(library.mounted, 'mounted by the library too');
  }
});

t.test('more layers than OVL_MAX_STACK', needsOverlay, async (t) => {
  const s = scratch(t);
  const names = Array.from({ length: 501 }, (_, i) => String(i));
  s.mkdirs(...names.map((n) => `many/${n}`));
  const [target] = s.mkdirs('merged');
  // Relative to the layers' parent, so the string fits mount(2)'s page.
  t.notOk(kernelMounts(`lowerdir=${names.join(':')}`, target!, s.path('many')), 'the kernel refuses 501 layers');
  t.ok(kernelMounts(`lowerdir=${names.slice(1).join(':')}`, target!, s.path('many')), 'and mounts 500');
  t.throws(() => mountSync({ lower: names.map((n) => s.path('many', n)), target: target! }), { code: 'EINVAL', field: 'lower', beforeKernel: true });
});

t.test('umount: MNT_EXPIRE with MNT_DETACH or MNT_FORCE', needsOverlay, async (t) => {
  const s = scratch(t);
  const [l1, l2, target] = s.mkdirs('l1', 'l2', 'merged');
  const m = mountSync({ lower: [l1!, l2!], target: target! });
  t.teardown(() => (m.mounted ? m.unmountSync({ detach: true }) : undefined));
  const EXPIRE = 4;
  for (const [flag, bits] of [['detach', 1], ['force', 2]] as const) {
    t.throws(() => native.umountOverlaySync(target!, EXPIRE | bits), { code: 'EINVAL', syscall: 'umount2' }, `the kernel refuses expire with ${flag}`);
    t.throws(() => umountSync(target!, { expire: true, [flag]: true }), { code: 'EINVAL', field: 'expire', beforeKernel: true }, `so does the library, naming expire (${flag})`);
  }
  t.ok(m.mounted, 'still mounted');
  t.throws(() => umountSync(target!, { expire: true }), { code: 'EAGAIN', syscall: 'umount2' }, 'expire alone: the kernel only marks an unused mount the first time');
  t.ok(m.mounted, 'marked, still mounted');
  native.umountOverlaySync(target!, EXPIRE);
  t.notOk(m.mounted, 'the second expire unmounts it');
});

t.test('an OverlayMount refuses expire: its own check would clear the mark every time', needsOverlay, async (t) => {
  const s = scratch(t);
  const [l1, l2, target] = s.mkdirs('l1', 'l2', 'merged');
  const m = mountSync({ lower: [l1!, l2!], target: target! });
  t.teardown(() => (m.mounted ? m.unmountSync({ detach: true }) : undefined));
  // What the refusal says, shown on the kernel: a statx of the target between two expires undoes the mark.
  t.throws(() => native.umountOverlaySync(target!, 4), { code: 'EAGAIN' });
  fs.statSync(target!);
  t.throws(() => native.umountOverlaySync(target!, 4), { code: 'EAGAIN' }, 'a look at the mount in between: marked again, not unmounted');
  t.throws(() => m.unmountSync({ expire: true }), { code: 'EINVAL', field: 'expire', beforeKernel: true });
  await t.rejects(m.unmount({ expire: true }), { code: 'EINVAL', field: 'expire' });
  t.ok(m.mounted, 'still mounted');
});

t.test('remount with an overlay option: the kernel takes it and changes nothing; the library refuses (ours)', needsOverlay, async (t) => {
  const s = scratch(t);
  const [l1, l2, target] = s.mkdirs('l1', 'l2', 'merged');
  const m = mountSync({ lower: [l1!, l2!], target: target!, redirectDir: 'nofollow' });
  t.teardown(() => (m.mounted ? m.unmountSync({ detach: true }) : undefined));
  const before = mountsAt(target!)[0]?.superOptions;
  const r = spawnSync('mount', ['-o', 'remount,redirect_dir=follow', target!], { encoding: 'utf8' });
  const after = mountsAt(target!)[0]?.superOptions;
  t.comment(`mount -o remount,redirect_dir=follow: exit ${r.status}; options ${before} -> ${after}`);
  t.ok(r.status === 0 ? before === after : true, 'the kernel either refuses it or takes it without changing the overlay: never a change');
  t.throws(() => remountSync(target!, { redirectDir: 'follow' } as never), { code: 'EINVAL', field: 'redirectDir', message: /cannot change its layers or overlay options on remount/, beforeKernel: true });
});
