// `ovl convert` killed at any point (SIGKILL at the test addon's failure
// points; convert-kill9.test.ts kills the CLI for real) leaves only
// what the next run of the same conversion removes, and that run ends where
// an uninterrupted one does: the same tree, and nothing else under the scratch
// directory. The rerun is the library's call, made in this process: what a
// rerun finds and removes is toOci's and fromOci's. --to oci into a new DEST (built beside it) and into an empty
// one (built inside it, then moved up); --from oci in place.
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { fromOciSync, isOpaqueSync, toOciSync } from '../../lib/index';
import { ovl, ovlKilledAt } from '../helpers/cli';
import { needsRoot } from '../helpers/layer';
import { holdLock } from '../helpers/lock-holder';
import { scratch, type Scratch } from '../helpers/scratch';
import { testAddonPath } from '../helpers/test-addon';
import { snapshot } from '../helpers/tree';
import { entriesBeside, rerunToOci, writeOciLayer, writeUpper } from './convert-crash-steps';

const haveTestAddon = fs.existsSync(testAddonPath) ? false : `${testAddonPath} is not built (npm run build:cmake)`;
const skip = needsRoot.skip || haveTestAddon;

function killedAt(t: Test, point: string, args: string[]): void {
  const child = ovlKilledAt(point, args);
  t.equal(child.signal, 'SIGKILL', `killed at ${point} (${child.stderr.trim() || 'exit ' + child.status})`);
}

const TO_OCI_POINTS = ['enterTempDir', 'whiteout.temps-locked', 'findUnkeepable', 'exportLayer', 'exportLayer.entry#0', 'exportLayer.entry#25'];
const INSIDE_POINTS = ['moveOciExportUp', 'toOci.move#0', 'toOci.move#3', 'exportLayerRoot'];

for (const where of ['new', 'empty'] as const) {
  const points = where === 'new' ? TO_OCI_POINTS : [...TO_OCI_POINTS, ...INSIDE_POINTS];
  t.test(`--to oci into ${where === 'new' ? 'a new DEST' : 'an empty DEST'}, killed at each failure point, then run again`, { skip }, async (t) => {
    for (const point of points) {
      await t.test(point, async (t) => {
        const s = scratch(t);
        writeUpper(s, 'up', 40);
        toOciSync(s.path('up'), s.path('ref'));
        if (where === 'empty') fs.mkdirSync(s.path('out'));
        killedAt(t, point, ['convert', '--to', 'oci', s.path('up'), s.path('out')]);
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
  const refused = ovl(['convert', '--to', 'oci', s.path('up'), s.path('out')]);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /ENOTEMPTY: dest: .*'\.ovl-oci-Ab12Cd', a temporary of another convert into it that is still running/);
  await holder.release();
  t.equal(ovl(['convert', '--to', 'oci', s.path('up'), s.path('out')]).status, 0, 'once no one holds it, the leftover goes and the convert runs');
  t.notOk(fs.existsSync(s.path('out/.ovl-oci-Ab12Cd')));
});

t.test('--to oci: the entries a killed move had put in DEST are told from the user\'s by inode', { skip }, async (t) => {
  const s = scratch(t);
  writeUpper(s, 'up', 10);
  toOciSync(s.path('up'), s.path('ref'));
  fs.mkdirSync(s.path('out'));
  killedAt(t, 'toOci.move#3', ['convert', '--to', 'oci', s.path('up'), s.path('out')]);
  const moved = fs.readdirSync(s.path('out')).filter((n) => !n.startsWith('.ovl-oci-'));
  t.equal(moved.length, 3, 'three entries were moved up before the kill');
  // The user replaces one of them meanwhile: another inode under a listed name.
  fs.rmSync(s.path('out', moved[0]!), { recursive: true });
  fs.writeFileSync(s.path('out', moved[0]!), 'the user\'s own');
  const again = ovl(['convert', '--to', 'oci', s.path('up'), s.path('out')]);
  t.equal(again.status, 1, 'DEST holds a file of the user\'s: not empty');
  t.match(again.stderr, /ENOTEMPTY: dest: '.*' is not empty/);
  t.same(fs.readdirSync(s.path('out')), [moved[0]], 'only the user\'s file is left: the killed run\'s entries and temporaries are gone');
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
        const s = scratch(t);
        writeOciLayer(s, 'oci', 10);
        writeOciLayer(s, 'ref', 10);
        fromOciSync(s.path('ref'), { kind });
        const args = ['convert', '--to', 'overlay', ...(kind === 'xattr' ? ['--xattr'] : []), s.path('oci')];
        killedAt(t, point, args);
        t.doesNotThrow(() => fromOciSync(s.path('oci'), { kind }), 'the rerun, in this process, converts');
        checkConverted(t, s, snapshot(s.path('ref')));
      });
    }
  });
}
