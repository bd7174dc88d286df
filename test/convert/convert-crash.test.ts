// `ovl convert` killed at any point (SIGKILL at the test addon's failure
// points, and a real kill -9 of the CLI after several delays) leaves only
// what the next run of the same command removes, and that run ends where an
// uninterrupted one does: the same tree, and nothing else under the scratch
// directory. --to oci into a new DEST (built beside it) and into an empty
// one (built inside it, then moved up); --from oci in place.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { fromOciSync, isOpaqueSync, setOpaqueSync, toOciSync, whiteoutSync } from '../../lib/index';
import { OVL } from '../helpers/cli';
import { needsRoot } from '../helpers/layer';
import { holdLock } from '../helpers/lock-holder';
import { scratch, type Scratch } from '../helpers/scratch';
import { testAddonPath } from '../helpers/test-addon';
import { snapshot } from '../helpers/tree';

const haveTestAddon = fs.existsSync(testAddonPath) ? false : `${testAddonPath} is not built (npm run build:cmake)`;
const skip = needsRoot.skip || haveTestAddon;
const NATIVE = path.join(__dirname, '..', '..', 'lib', 'core', 'native.js');

// The CLI, its addon swapped for the test addon with `point` armed to kill it.
function killedAt(t: Test, tools: Scratch, point: string, args: string[]): void {
  const arm = tools.path('arm.js');
  fs.writeFileSync(arm, `require(${JSON.stringify(NATIVE)}).native.injectFault(process.env.OVL_KILL_AT, 0, '', true);\n`);
  const env = { ...process.env, OVERLAY_NATIVE_ADDON: testAddonPath, OVL_KILL_AT: point };
  const child = spawnSync(process.execPath, ['--require', arm, OVL, ...args], { encoding: 'utf8', env });
  t.equal(child.signal, 'SIGKILL', `killed at ${point} (${child.stderr.trim() || 'exit ' + child.status})`);
}

function ovlRun(args: string[]): { status: number | null; stderr: string } {
  const child = spawnSync(process.execPath, [OVL, ...args], { encoding: 'utf8' });
  return { status: child.status, stderr: child.stderr };
}

// A real kill -9 after `delayMs`; whether it came before, during or after the
// work is the point: each test tries several delays.
async function killedAfter(args: string[], delayMs: number): Promise<string> {
  const child = spawn(process.execPath, [OVL, ...args], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  return signal ?? `exit ${code}`;
}

function writeUpper(s: Scratch, dir: string, files: number): void {
  const tree: Record<string, string> = { [`${dir}/d/x`]: 'x', [`${dir}/d/sub/y`]: 'y', [`${dir}/o/kept`]: 'k' };
  for (let i = 0; i < files; i++) tree[`${dir}/f${String(i).padStart(4, '0')}`] = `file ${i}`;
  s.write(tree);
  whiteoutSync('gone', { root: s.path(dir) });
  whiteoutSync('d/gone', { root: s.path(dir) });
  setOpaqueSync('o', { root: s.path(dir) });
}

function writeOciLayer(s: Scratch, dir: string, markers: number): void {
  const tree: Record<string, string> = { [`${dir}/a/kept`]: 'k', [`${dir}/b/.wh..wh..opq`]: '', [`${dir}/b/new`]: 'n', [`${dir}/b/c/.wh.deep`]: '', [`${dir}/r/.wh..wh..opq`]: '' };
  for (let i = 0; i < markers; i++) tree[`${dir}/a/.wh.g${String(i).padStart(4, '0')}`] = '';
  tree[`${dir}/.wh.r`] = '';
  s.write(tree);
}

// Every entry under the scratch directory, but the inside of the trees the test expects.
function entriesBeside(s: Scratch, trees: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(s.path(rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      out.push(child);
      if (!trees.includes(child) && fs.lstatSync(s.path(child)).isDirectory()) walk(child);
    }
  };
  walk('');
  return out;
}

// The rerun after a kill: a success, or (the kill came after the result was
// complete) the refusal a second run of an uninterrupted convert gives.
function rerunToOci(t: Test, s: Scratch, dest: string): void {
  const again = ovlRun(['convert', '--to', 'oci', s.path('up'), s.path(dest)]);
  if (again.status !== 0) t.match(again.stderr, /(EEXIST|ENOTEMPTY): dest: .* (exists|is not empty)/, 'refused only as after a complete run');
  t.same(snapshot(s.path(dest)), snapshot(s.path('ref')), 'the result is what an uninterrupted convert gives');
  t.same(entriesBeside(s, ['up', 'ref', dest]), ['ref', 'up', dest].sort(), 'nothing else is left');
}

const TO_OCI_POINTS = ['enterTempDir', 'whiteout.temps-locked', 'findUnkeepable', 'exportLayer', 'exportLayer.entry#0', 'exportLayer.entry#25'];
const INSIDE_POINTS = ['moveOciExportUp', 'toOci.move#0', 'toOci.move#3', 'exportLayerRoot'];

for (const where of ['new', 'empty'] as const) {
  const points = where === 'new' ? TO_OCI_POINTS : [...TO_OCI_POINTS, ...INSIDE_POINTS];
  t.test(`--to oci into ${where === 'new' ? 'a new DEST' : 'an empty DEST'}, killed at each failure point, then run again`, { skip }, async (t) => {
    for (const point of points) {
      await t.test(point, async (t) => {
        const [s, tools] = [scratch(t), scratch(t)];
        writeUpper(s, 'up', 40);
        toOciSync(s.path('up'), s.path('ref'));
        if (where === 'empty') fs.mkdirSync(s.path('out'));
        killedAt(t, tools, point, ['convert', '--to', 'oci', s.path('up'), s.path('out')]);
        rerunToOci(t, s, 'out');
      });
    }
  });
}

t.test('--to oci: a temporary of a convert still running (its lock held) is left, and named', { skip }, async (t) => {
  const s = scratch(t);
  writeUpper(s, 'up', 1);
  fs.mkdirSync(s.path('out'));
  fs.mkdirSync(s.path('out/.ovl-oci-Ab12Cd'));
  const holder = await holdLock(t, s.path('out'), 'shared');
  const refused = ovlRun(['convert', '--to', 'oci', s.path('up'), s.path('out')]);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /ENOTEMPTY: dest: .*'\.ovl-oci-Ab12Cd', a temporary of another convert into it that is still running/);
  await holder.release();
  t.equal(ovlRun(['convert', '--to', 'oci', s.path('up'), s.path('out')]).status, 0, 'once no one holds it, the leftover goes and the convert runs');
  t.notOk(fs.existsSync(s.path('out/.ovl-oci-Ab12Cd')));
});

t.test('--to oci: the entries a killed move had put in DEST are told from the user\'s by inode', { skip }, async (t) => {
  const [s, tools] = [scratch(t), scratch(t)];
  writeUpper(s, 'up', 10);
  toOciSync(s.path('up'), s.path('ref'));
  fs.mkdirSync(s.path('out'));
  killedAt(t, tools, 'toOci.move#3', ['convert', '--to', 'oci', s.path('up'), s.path('out')]);
  const moved = fs.readdirSync(s.path('out')).filter((n) => !n.startsWith('.ovl-oci-'));
  t.equal(moved.length, 3, 'three entries were moved up before the kill');
  // The user replaces one of them meanwhile: another inode under a listed name.
  fs.rmSync(s.path('out', moved[0]!), { recursive: true });
  fs.writeFileSync(s.path('out', moved[0]!), 'the user\'s own');
  const again = ovlRun(['convert', '--to', 'oci', s.path('up'), s.path('out')]);
  t.equal(again.status, 1, 'DEST holds a file of the user\'s: not empty');
  t.match(again.stderr, /ENOTEMPTY: dest: '.*' is not empty/);
  t.same(fs.readdirSync(s.path('out')), [moved[0]], 'only the user\'s file is left: the killed run\'s entries and temporaries are gone');
});

const FILES = 1500;

t.test('--to oci: a real kill -9 after several delays, then run again', { skip: needsRoot.skip }, async (t) => {
  const s0 = scratch(t);
  writeUpper(s0, 'up', FILES);
  const started = Date.now();
  t.equal(ovlRun(['convert', '--to', 'oci', s0.path('up'), s0.path('timing')]).status, 0);
  const whole = Date.now() - started;
  for (const where of ['new', 'empty'] as const) {
    for (const share of [0.2, 0.5, 0.75, 0.9, 1.05]) {
      await t.test(`${where} DEST, killed after ${Math.round(share * 100)}% of an uninterrupted run`, async (t) => {
        const s = scratch(t);
        writeUpper(s, 'up', FILES);
        toOciSync(s.path('up'), s.path('ref'));
        if (where === 'empty') fs.mkdirSync(s.path('out'));
        t.comment(await killedAfter(['convert', '--to', 'oci', s.path('up'), s.path('out')], Math.round(whole * share)));
        rerunToOci(t, s, 'out');
      });
    }
  }
});

// --from oci converts in place: what a run killed half way left is finished by the next.
function checkConverted(t: Test, s: Scratch, ref: Record<string, unknown>): void {
  t.same(snapshot(s.path('oci')), ref, 'the tree is what an uninterrupted convert gives');
  t.equal(isOpaqueSync('b', { root: s.path('oci') }), 'y');
  t.equal(isOpaqueSync('r', { root: s.path('oci') }), 'y');
  t.same(entriesBeside(s, ['oci', 'ref']), ['oci', 'ref'], 'nothing else is left');
}

const FROM_OCI_POINTS = ['convertOciLayer', 'fromOci:whiteout#0', 'fromOci:whiteout#7', 'whiteout.temp-made', 'fromOci:opaque#0', 'fromOci:opaque#1', 'fromOci:unlink#0', 'fromOci:unlink#4', 'fromOci:unlink#10', 'fromOci:unlink#11', 'fromOci:unlink#12'];

for (const kind of ['chardev', 'xattr'] as const) {
  t.test(`--from oci (${kind}) killed at each failure point, then run again`, { skip }, async (t) => {
    // Only xattr whiteouts are made under a temporary name.
    for (const point of FROM_OCI_POINTS.filter((p) => kind === 'xattr' || p !== 'whiteout.temp-made')) {
      await t.test(point, async (t) => {
        const [s, tools] = [scratch(t), scratch(t)];
        writeOciLayer(s, 'oci', 10);
        writeOciLayer(s, 'ref', 10);
        fromOciSync(s.path('ref'), { kind });
        const args = ['convert', '--to', 'overlay', ...(kind === 'xattr' ? ['--xattr'] : []), s.path('oci')];
        killedAt(t, tools, point, args);
        const again = ovlRun(args);
        t.equal(again.status, 0, `the rerun converts (${again.stderr.trim()})`);
        checkConverted(t, s, snapshot(s.path('ref')));
      });
    }
  });
}
