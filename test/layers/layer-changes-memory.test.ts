// What changes walks hold: a failure met after changes were handed over,
// and the memory a stream of 200,000 changes needs next to the list
// changes() builds (live heap after a collection, and the native queue).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { OVL } from '../helpers/cli';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';
import { testAddon, testAddonPath } from '../helpers/test-addon';
import { nodeCommand } from '../helpers/child-env';

type Walk = { readonly walk: unique symbol };
interface WalkExports {
  layerChangesOpen(upper: string, lower: string[], userxattr: boolean): Walk;
  layerChangesNext(walk: Walk, max: number): Promise<[Buffer, string, boolean]>;
  layerChangesNextSync(walk: Walk, max: number): [Buffer, string, boolean];
  layerChangesClose(walk: Walk): boolean;
  layerChangesPeakQueued(walk: Walk): number;
  injectFault(point: string, errno: number): void;
}
const addon = () => testAddon() as unknown as WalkExports;
const EIO = 5;
const openFds = () => fs.readdirSync('/proc/self/fd').length;

// `dirs` directories of `files` empty new files: dirs * (files + 1) additions.
function additions(upper: string, dirs: number, files: number): number {
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(upper, `d${String(d).padStart(4, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < files; f++) fs.closeSync(fs.openSync(path.join(dir, `f${f}`), 'w'));
  }
  return dirs * (files + 1);
}

t.test('a failure after some batches: the batches before it stand, the error is an OverlayError, the fds are closed', needsRoot, async (t) => {
  const s = scratch(t);
  const upper = s.path('upper');
  additions(upper, 5, 1000);
  const before = openFds();
  const walk = addon().layerChangesOpen(upper, [], false);
  const [, kinds, done] = addon().layerChangesNextSync(walk, 4096);
  t.equal(kinds.length, 4096);
  t.equal(done, false);
  addon().injectFault('layerChanges.later-batch', EIO);
  await t.rejects(addon().layerChangesNext(walk, 4096), { name: 'OverlayError', code: 'EIO', syscall: 'getdents64', field: 'upper' });
  t.equal(openFds(), before, 'the failed walk closed itself');
  t.same(addon().layerChangesNextSync(walk, 4096), [Buffer.alloc(0), '', true], 'and reads as over');
});

t.test('ovl diff failing midway: the lines before it printed, the error on stderr, exit 1', needsRoot, async (t) => {
  const s = scratch(t);
  const upper = s.path('upper');
  additions(upper, 5, 1000);
  // The CLI run on the test addon, its failure point armed in that process first.
  const script = `require(${JSON.stringify(testAddonPath)}).injectFault('layerChanges.later-batch', ${EIO}); require(${JSON.stringify(OVL)});`;
  const { NODE_V8_COVERAGE: _c, ...env } = process.env;
  for (const json of [false, true]) {
    const args = ['diff', ...(json ? ['--json'] : []), upper];
    const r = spawnSync(...nodeCommand(['-e', script, 'ovl', ...args]), { encoding: 'utf8', env: { ...env, OVERLAY_NATIVE_ADDON: testAddonPath } });
    t.equal(r.status, 1, `${args.join(' ')}: exit 1`);
    t.match(r.stderr, json ? /"code":"EIO".*"syscall":"getdents64"/ : /^ovl: diff: EIO: .*getdents64/);
    if (json) t.match(r.stdout, /^\[\{"path":"\/d0000","kind":"A"\},/, 'the array begun');
    else t.equal(r.stdout.split('\n').length - 1, 4096, 'the first batch printed, line by line');
  }
});

t.test('streaming 200,000 changes holds a batch; changes() holds the list', needsRoot, async (t) => {
  const s = scratch(t);
  const upper = s.path('upper');
  fs.mkdirSync(upper);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256m,nr_inodes=400k', 'tmpfs', upper]);
  t.teardown(() => execFileSync('umount', [upper]));
  const total = additions(upper, 200, 999);
  t.equal(total, 200_000);

  // Native side: the queue never held more than one batch.
  const walk = addon().layerChangesOpen(upper, [], false);
  let listed = 0;
  for (let done = false; !done; ) {
    const [, kinds, last] = addon().layerChangesNextSync(walk, 4096);
    listed += kinds.length;
    done = last;
  }
  t.equal(listed, total);
  t.ok(addon().layerChangesPeakQueued(walk) <= 4096, `native peak ${addon().layerChangesPeakQueued(walk)} changes held, for ${total} walked`);

  // JS side: the live heap (after a full collection), sampled as the stream
  // goes, against the list changes() resolves to. Measured in a plain node
  // process: tap's promise tracking grows with every await, which is not ours.
  const script = `
    const { changes, changesIterator } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'index.js'))});
    const live = () => (gc(), process.memoryUsage().heapUsed);
    (async () => {
      for await (const c of changesIterator(process.argv[1])) void c; // code compiled on the way is not held per change
      const base = live();
      let peak = 0, seen = 0;
      for await (const c of changesIterator(process.argv[1])) if (++seen % 20000 === 0) peak = Math.max(peak, live() - base);
      const list = await changes(process.argv[1]);
      console.log(JSON.stringify({ seen, peak, listed: list.length, held: live() - base }));
    })();`;
  const { NODE_V8_COVERAGE: _c, ...env } = process.env;
  const r = spawnSync(...nodeCommand(['--expose-gc', '-e', script, upper]), { encoding: 'utf8', env });
  t.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { seen: number; peak: number; listed: number; held: number };
  t.equal(m.seen, total);
  t.equal(m.listed, total);
  t.ok(m.held > 10 * 1024 * 1024, `the list holds ${(m.held / 2 ** 20).toFixed(1)} MiB`);
  t.ok(m.peak * 10 < m.held, `the stream held at most ${(m.peak / 2 ** 20).toFixed(2)} MiB, under a tenth of the list's`);
});

t.test('held back only while undecided: a directory copied up unchanged holds the changes beneath it until an addition decides it', needsRoot, async (t) => {
  const s = scratch(t);
  // Both layers on tmpfs, where a directory's size counts its entries: the same names, the same size.
  const [lower, upper] = s.mkdirs('lower', 'upper');
  for (const dir of [lower, upper] as string[]) execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir]);
  t.teardown(() => {
    for (const dir of [lower, upper] as string[]) execFileSync('umount', [dir]);
  });
  const files = 6000;
  for (const [layer, text] of [[lower, 'old'], [upper, 'edited']] as Array<[string, string]>) {
    fs.mkdirSync(path.join(layer, 'big'));
    for (const name of ['a-x', ...Array.from({ length: files }, (_, f) => `f${String(f).padStart(5, '0')}`)]) fs.writeFileSync(path.join(layer, 'big', name), text);
    fs.chmodSync(path.join(layer, 'big'), 0o755);
    fs.utimesSync(path.join(layer, 'big'), 1_600_000_000, 1_600_000_000);
  }
  const peakOf = () => {
    const walk = addon().layerChangesOpen(upper as string, [lower as string], false);
    const kinds: string[] = [];
    for (let done = false; !done; ) {
      const [, k, last] = addon().layerChangesNextSync(walk, 4096);
      kinds.push(k);
      done = last;
    }
    return { peak: addon().layerChangesPeakQueued(walk), listed: kinds.join('').length };
  };
  const undecided = peakOf();
  const big = (layer: string) => fs.statSync(path.join(layer, 'big'));
  t.same([big(upper as string).size, big(upper as string).mode, big(upper as string).mtimeMs], [big(lower as string).size, big(lower as string).mode, big(lower as string).mtimeMs], '/big the same in both');
  t.equal(undecided.listed, files + 1, 'every file C, /big itself not listed: nothing was added or deleted beneath it');
  t.ok(undecided.peak >= files, `the worst case: all ${files} changes beneath the undecided /big were held (${undecided.peak})`);
  // An addition that sorts first decides /big at once: nothing waits on it after that.
  // (a-x goes, so /big keeps its size: only the addition can decide it.)
  fs.rmSync(path.join(upper as string, 'big', 'a-x'));
  fs.writeFileSync(path.join(upper as string, 'big', 'a-new'), 'new');
  fs.utimesSync(path.join(upper as string, 'big'), 1_600_000_000, 1_600_000_000);
  const decided = peakOf();
  t.equal(big(upper as string).size, big(lower as string).size);
  t.equal(decided.listed, files + 2, '/big, its new file and every changed file');
  t.ok(decided.peak <= 4096, `decided early: held one batch at most (${decided.peak})`);
});
