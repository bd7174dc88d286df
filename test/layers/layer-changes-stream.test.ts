// changesIterator() and its Sync twin: the same changes as changes(), in the
// same byte order, checked against an independent walk on random trees full
// of the tricky cases; a loop that stops reading stops the walk and closes
// every fd; and a big tree is streamed holding no more than a batch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { changes, changesIterator, changesIteratorSync, changesSync, setOpaqueSync, whiteoutSync, type LayerChange } from '../../lib/index';
import { referenceChanges, type Marks } from './changes-reference';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';
import { testAddon } from '../helpers/test-addon';

const bytes = (p: string | Buffer) => (typeof p === 'string' ? Buffer.from(p) : p);
const show = (list: Array<{ path: string | Buffer; kind: string }>) => list.map((c) => `${c.kind} ${bytes(c.path).toString('hex')}`);

async function collect(it: AsyncIterable<LayerChange>): Promise<LayerChange[]> {
  const out: LayerChange[] = [];
  for await (const c of it) out.push(c);
  return out;
}

// Names whose order by bytes is not a depth-first order ("a-x" and "a.b"
// sort between "a" and "a/..."), with spaces, UTF-8 and a byte that is not.
const NAMES = ['a', 'a b', 'a-x', 'a.b', 'ab', 'b', 'caf\u00e9', 'z'].map((n) => Buffer.from(n));
const RAW = Buffer.from('r\xff', 'latin1');

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const join = (dir: Buffer, name: Buffer) => Buffer.concat([dir, Buffer.from('/'), name]);
const isUtf8Path = (p: Buffer) => !p.includes(0xff);

// A lower tree, and an upper made over it: copy-ups that keep a directory's
// mode and times (undecided until something beneath decides), changed
// modes, edits, additions, whiteouts of both kinds, opaque directories, a
// file replaced by a directory, and a symlinked directory in the lower.
function makeLayers(root: string, seed: number): { upper: string; lower: string; marks: Marks; copied: Buffer[] } {
  const rand = random(seed);
  const lower = Buffer.from(path.join(root, 'lower'));
  const upper = Buffer.from(path.join(root, 'upper'));
  const marks: Marks = { xattrWhiteouts: new Set(), opaque: new Set() };
  const copied: Buffer[] = [];
  const names = () => [...NAMES, RAW].filter(() => rand() < 0.6);
  const fill = (dir: Buffer, depth: number) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const name of names()) {
      if (depth < 3 && rand() < 0.45) fill(join(dir, name), depth + 1);
      else fs.writeFileSync(join(dir, name), `${seed}`);
    }
  };
  fill(lower, 0);
  // Whole seconds, which fs.utimesSync (Dates, numbers) carries exactly.
  const wholeSeconds = (dir: Buffer) => {
    for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) if (fs.lstatSync(join(dir, name)).isDirectory()) wholeSeconds(join(dir, name));
    fs.utimesSync(dir, 1_600_000_000, 1_600_000_000);
  };
  wholeSeconds(lower);
  fs.symlinkSync('a', join(lower, Buffer.from('link')));
  const whiteout = (dir: Buffer, name: Buffer) => {
    const kind = rand() < 0.5 ? 'xattr' : 'chardev';
    whiteoutSync(join(dir, name).toString(), { kind });
    if (kind === 'xattr') marks.xattrWhiteouts.add(join(dir, name).toString('hex'));
  };
  const over = (low: Buffer, up: Buffer, depth: number) => {
    fs.mkdirSync(up, { recursive: true });
    for (const name of fs.readdirSync(low, { encoding: 'buffer' })) {
      const l = join(low, name);
      const u = join(up, name);
      const st = fs.lstatSync(l);
      const roll = rand();
      const canMark = isUtf8Path(u);
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory()) {
        if (roll < 0.3) continue;
        if (roll < 0.4 && canMark) whiteout(up, name);
        else if (roll < 0.47 && canMark) {
          fs.mkdirSync(u);
          setOpaqueSync(u.toString());
          marks.opaque.add(u.toString('hex'));
          fill(join(u, Buffer.from('a')), depth + 1);
        } else {
          over(l, u, depth + 1);
          // Copy-up keeps the lower's mode and times; now and then a chmod changes it.
          const same = rand() >= 0.1;
          fs.chmodSync(u, same ? st.mode & 0o7777 : 0o700);
          fs.utimesSync(u, st.atime, st.mtime);
          if (same) copied.push(u.subarray(upper.length));
        }
      } else if (roll < 0.55) continue;
      else if (roll < 0.75) fs.writeFileSync(u, 'edited');
      else if (roll < 0.9 && canMark) whiteout(up, name);
      else fill(u, depth + 1);
    }
    for (const name of NAMES) if (!fs.existsSync(join(low, name)) && rand() < 0.15) (rand() < 0.5 ? fs.writeFileSync(join(up, name), 'new') : fill(join(up, name), depth + 1));
  };
  over(lower, upper, 0);
  // The symlinked directory: an upper directory of the same mode and time as the one it points to.
  const link = join(upper, Buffer.from('link'));
  fs.mkdirSync(link);
  const a = fs.statSync(join(lower, Buffer.from('link')), { throwIfNoEntry: false });
  if (a?.isDirectory()) {
    fs.chmodSync(link, a.mode & 0o7777);
    fs.utimesSync(link, a.atime, a.mtime);
  }
  const top = fs.statSync(lower);
  fs.utimesSync(upper, top.atime, top.mtime);
  return { upper: upper.toString(), lower: lower.toString(), marks, copied };
}

t.test('random trees: iterator, Sync iterator, changes() and changesSync() agree with an independent walk, in byte order', needsRoot, async (t) => {
  const s = scratch(t);
  const kinds = new Set<string>();
  const copiedListed: boolean[] = [];
  for (let seed = 1; seed <= 12; seed++) {
    const { upper, lower, marks, copied } = makeLayers(s.path(`t${seed}`), seed);
    const wanted = show(referenceChanges(upper, [lower], marks));
    const streamed = await collect(changesIterator(upper, { lower: [lower] }));
    t.same(show(streamed), wanted, `seed ${seed}: changesIterator`);
    t.same(show([...changesIteratorSync(upper, { lower: [lower] })]), wanted, `seed ${seed}: changesIteratorSync`);
    t.same(show(await changes(upper, { lower: [lower] })), wanted, `seed ${seed}: changes()`);
    t.same(show(changesSync(upper, { lower: [lower] })), wanted, `seed ${seed}: changesSync()`);
    const order = streamed.map((c) => bytes(c.path));
    t.ok(order.every((p, i) => i === 0 || Buffer.compare(order[i - 1] as Buffer, p) < 0), `seed ${seed}: strictly ascending by bytes`);
    for (const c of streamed) kinds.add(`${c.kind}${Buffer.isBuffer(c.path) ? ' raw' : ''}`);
    for (const dir of copied) copiedListed.push(order.some((p) => p.equals(dir)));
  }
  t.same([...kinds].sort(), ['A', 'A raw', 'C', 'C raw', 'D'], 'the trees held every kind, and names that are not UTF-8');
  t.ok(copiedListed.includes(true), 'directories copied up unchanged and listed for what lies beneath');
  t.ok(copiedListed.includes(false), 'directories copied up unchanged and left out');
});

t.test('a directory listed only for an addition deep beneath it, after siblings that sort before its subtree', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'lower/a/b/c/old': 'x', 'lower/a-x/f': 'x', 'lower/a.b': 'x', 'upper/a-x/f': 'edited', 'upper/a/b/c/new': 'n', 'upper/a.b': 'edited' });
  for (const d of ['a/b/c', 'a/b', 'a', 'a-x']) for (const side of ['lower', 'upper']) fs.utimesSync(s.path(side, d), 1_600_000_000, 1_600_000_000);
  const lower = [s.path('lower')];
  const wanted = ['C /a', 'C /a-x/f', 'C /a.b', 'C /a/b', 'C /a/b/c', 'A /a/b/c/new'];
  const text = (l: LayerChange[]) => l.map((c) => `${c.kind} ${String(c.path)}`);
  t.same(text(await collect(changesIterator(s.path('upper'), { lower }))), wanted);
  t.same(text(changesSync(s.path('upper'), { lower })), wanted);
  fs.rmSync(s.path('upper/a/b/c/new'));
  fs.utimesSync(s.path('upper/a/b/c'), 1_600_000_000, 1_600_000_000);
  t.same(text([...changesIteratorSync(s.path('upper'), { lower })]), ['C /a-x/f', 'C /a.b'], 'nothing added beneath: /a, /a/b, /a/b/c are not listed');
});

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

// A tree of `dirs` directories of `files` new files each: about dirs * files changes.
function wideTree(root: string, dirs: number, files: number): string {
  const upper = path.join(root, 'upper');
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(upper, `d${String(d).padStart(4, '0')}`, 'deep');
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < files; f++) fs.closeSync(fs.openSync(path.join(dir, `f${f}`), 'w'));
  }
  return upper;
}

t.test('break and return() end the walk and close every fd; a loop that stops reading stops the walk', needsRoot, async (t) => {
  const s = scratch(t);
  const upper = wideTree(s.dir, 40, 300);
  const before = openFds();
  let seen = 0;
  for await (const c of changesIterator(upper)) {
    if (++seen === 10) break;
    void c;
  }
  t.equal(openFds(), before, 'break: no fd left open');
  const it = changesIterator(upper);
  await it.next();
  t.ok(openFds() > before, 'a walk in progress holds fds');
  await it.return(undefined);
  t.equal(openFds(), before, 'return(): no fd left open');
  t.same(await it.next(), { done: true, value: undefined }, 'and it is over');
  const sync = changesIteratorSync(upper);
  sync.next();
  sync.return(undefined);
  t.equal(openFds(), before, 'the Sync twin closes too');
  // Stopped after the first change: the native walk went no further than one batch.
  const addon = testAddon() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const walk = addon.layerChangesOpen!(upper, [], false);
  const [, kinds] = addon.layerChangesNextSync!(walk, 4096) as [Buffer, string, boolean];
  t.equal(kinds.length, 4096, 'one batch');
  t.ok((addon.layerChangesPeakQueued!(walk) as number) < 4096 + 300, 'held: one batch and no more than a directory beyond it');
  t.equal(addon.layerChangesClose!(walk), true);
  t.equal(openFds(), before);
});

t.test('a walk that cannot start rejects its first next() with an OverlayError; bad arguments throw at the call', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/a/f': 'x', 'upper/b/f': 'x' });
  const before = openFds();
  const it = changesIterator(s.path('upper'));
  const first = await it.next();
  t.same(first.value, { path: '/a', kind: 'A' });
  await t.rejects(changesIterator('/nonexistent-ovl-upper').next(), { code: 'ENOENT', syscall: 'open', field: 'upper' });
  await it.return(undefined);
  t.throws(() => changesIterator(''), { code: 'EINVAL', field: 'upper' }, 'arguments are checked at the call');
  t.throws(() => changesIteratorSync('/tmp', { lower: 'x' as unknown as string[] }), { code: 'ERR_INVALID_ARG_TYPE', field: 'lower' });
  t.throws(() => changesIterator('/tmp', { lowr: [] } as never), { code: 'EINVAL', field: 'lowr' });
  t.equal(openFds(), before);
});
