// fromOci is all or nothing: a failure at any stage (the check, the
// whiteouts, the opaque marks, the markers' removal) leaves the layer exactly
// as it was, every .wh. marker still there, with its content, owner, mode and times.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { fromOci, fromOciSync, isOpaqueSync, isWhiteoutSync, type WhiteoutKind } from '../../lib/index';
import { fromOciArgs, withNotUndone } from '../../lib/convert/from-oci';
import { needsRoot } from '../helpers/layer';
import { layerState } from './layer-state';
import { scratch, type Scratch } from '../helpers/scratch';
import { testAddon, testAddonPath } from '../helpers/test-addon';

const EIO = 5;
// The stages run natively: a failure is injected at a failure point of the
// test addon (native/convert/oci_convert_entry.cc: fromOci:whiteout, fromOci:opaque,
// fromOci:unlink, fromOci:undo; 'POINT#n' fails the n-th pass, from 0).
const haveTestAddon = fs.existsSync(testAddonPath) ? false : `${testAddonPath} is not built (npm run build:cmake)`;
const needsFaults = { skip: needsRoot.skip || haveTestAddon };

type Injected = (dir: string, kind: WhiteoutKind) => Promise<void>;
const INJECTED_FORMS: Array<[string, Injected]> = [
  ['Promise', (dir, kind) => testAddon().convertOciLayer(...fromOciArgs(dir, { kind })).catch((e: unknown) => Promise.reject(withNotUndone(e)))],
  [
    'Sync',
    async (dir, kind) => {
      try {
        testAddon().convertOciLayerSync(...fromOciArgs(dir, { kind }));
      } catch (e) {
        throw withNotUndone(e);
      }
    },
  ],
];

t.afterEach(() => {
  if (!haveTestAddon) testAddon().takeArmedFaults();
});

function writeLayer(s: Scratch, dir: string): void {
  s.write({
    [`${dir}/a/.wh.gone1`]: '',
    [`${dir}/a/.wh.gone2`]: '',
    [`${dir}/a/kept`]: 'k',
    [`${dir}/b/.wh..wh..opq`]: '',
    [`${dir}/b/new`]: 'n',
    [`${dir}/c/.wh.gone3`]: 'a marker with content',
    [`${dir}/z/.wh.gone4`]: '',
  });
  fs.chmodSync(s.path(dir, 'a/.wh.gone1'), 0o600);
  fs.utimesSync(s.path(dir, 'a/.wh.gone1'), new Date('2001-02-03T04:05:06.789Z'), new Date('2002-03-04T05:06:07.891Z'));
  fs.chownSync(s.path(dir, 'a/.wh.gone2'), 1234, 5678);
  fs.symlinkSync('somewhere', s.path(dir, 'c/.wh.link'));
}

type Convert = (dir: string, kind: WhiteoutKind) => Promise<void>;
const FORMS: Array<[string, Convert]> = [
  ['Promise', (dir, kind) => fromOci(dir, { kind })],
  ['Sync', async (dir, kind) => fromOciSync(dir, { kind })],
];

async function expectUntouched(t: Test, s: Scratch, convert: () => Promise<void>, wanted: object): Promise<void> {
  const before = layerState(s.path('oci'));
  const err = await convert().then(() => undefined, (e: unknown) => e);
  t.match(err, wanted, 'refused');
  t.notOk((err as { notUndone?: unknown }).notUndone, 'everything undone');
  t.same(layerState(s.path('oci')), before, 'the layer is exactly as it was');
}

for (const [form, convert] of FORMS) {
  for (const kind of ['chardev', 'xattr'] as const) {
    t.test(`${form}, ${kind}: a read-only directory is found before anything changes`, needsRoot, async (t) => {
      const s = scratch(t);
      writeLayer(s, 'oci');
      const c = s.path('oci/c');
      execFileSync('mount', ['--bind', c, c]);
      t.teardown(() => execFileSync('umount', [c]));
      execFileSync('mount', ['-o', 'remount,bind,ro', c]);
      await expectUntouched(t, s, () => convert(s.path('oci'), kind), { code: 'EROFS', field: '/c', syscall: 'faccessat' });
    });

    t.test(`${form}, ${kind}: a failure while making the whiteouts`, needsRoot, async (t) => {
      const s = scratch(t);
      const [small] = s.mkdirs('oci');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'nr_inodes=16,size=1m', 'layer-tools-test', small as string]);
      t.teardown(() => execFileSync('umount', [small as string]));
      writeLayer(s, 'oci');
      // Fill the inodes left but two: the batch of four whiteouts runs out half way.
      let i = 0;
      for (;;) {
        try {
          fs.writeFileSync(s.path(`oci/z/fill${i++}`), '');
        } catch {
          break;
        }
      }
      fs.unlinkSync(s.path(`oci/z/fill${i - 2}`));
      fs.unlinkSync(s.path(`oci/z/fill${i - 3}`));
      await expectUntouched(t, s, () => convert(s.path('oci'), kind), { code: 'ENOSPC' });
    });


    t.test(`${form}, ${kind}: a marker that cannot be removed, after others were`, needsRoot, async (t) => {
      const s = scratch(t);
      writeLayer(s, 'oci');
      const stuck = s.path('oci/z/.wh.gone4');
      execFileSync('chattr', ['+a', stuck]);
      t.teardown(() => execFileSync('chattr', ['-a', stuck]));
      await expectUntouched(t, s, () => convert(s.path('oci'), kind), { code: 'EPERM', syscall: 'unlink' });
    });
  }
}

for (const [form, convert] of INJECTED_FORMS) {
  for (const kind of ['chardev', 'xattr'] as const) {
    t.test(`${form}, ${kind}: an injected failure at the third whiteout`, needsFaults, async (t) => {
      const s = scratch(t);
      writeLayer(s, 'oci');
      testAddon().injectFault('fromOci:whiteout#2', EIO);
      await expectUntouched(t, s, () => convert(s.path('oci'), kind), { code: 'EIO', field: '/c/gone3', message: /injected/ });
      t.same(testAddon().takeArmedFaults(), [], 'the failure point was reached');
    });

    t.test(`${form}, ${kind}: an injected failure while marking the second directory opaque`, needsFaults, async (t) => {
      const s = scratch(t);
      writeLayer(s, 'oci');
      fs.mkdirSync(s.path('oci/d'));
      fs.writeFileSync(s.path('oci/d/.wh..wh..opq'), '');
      testAddon().injectFault('fromOci:opaque#1', EIO);
      await expectUntouched(t, s, () => convert(s.path('oci'), kind), { code: 'EIO', field: '/d', message: /injected/ });
      t.same(testAddon().takeArmedFaults(), [], 'the failure point was reached');
    });

    t.test(`${form}, ${kind}: an injected failure on the last marker: every marker comes back with its metadata`, needsFaults, async (t) => {
      const s = scratch(t);
      writeLayer(s, 'oci');
      // The sixth and last marker: children before parents, a directory's opaque marker after its others (z, c, b, then a).
      testAddon().injectFault('fromOci:unlink#5', EIO);
      await expectUntouched(t, s, () => convert(s.path('oci'), kind), { code: 'EIO', syscall: 'unlinkat', field: '/a/.wh.gone2' });
      t.same(testAddon().takeArmedFaults(), [], 'the failure point was reached');
      fromOciSync(s.path('oci'), { kind });
      t.equal(isWhiteoutSync('a/gone1', { root: s.path('oci') }), kind, 'and then it converts');
      t.equal(isOpaqueSync('b', { root: s.path('oci') }), 'y');
      t.notOk(fs.existsSync(s.path('oci/c/.wh.link')));
    });
  }

  t.test(`${form}: a marker that cannot be put back is named in notUndone`, needsFaults, async (t) => {
    const s = scratch(t);
    writeLayer(s, 'oci');
    testAddon().injectFault('fromOci:unlink#2', EIO); // z/.wh.gone4 and c/.wh.gone3 removed, then c/.wh.link fails
    testAddon().injectFault('fromOci:undo', EIO); // the first marker put back: the last one removed
    const err = (await convert(s.path('oci'), 'chardev').then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; notUndone?: string[] };
    t.equal(err?.code, 'EIO', 'the first failure is the one reported');
    t.same(err.notUndone?.length, 1, 'one step could not be undone');
    t.match(err.notUndone?.[0], /^marker \/c\/\.wh\.gone3: /, 'and it is named');
    t.notOk(fs.existsSync(s.path('oci/c/.wh.gone3')), 'that marker is gone indeed');
    t.ok(fs.existsSync(s.path('oci/a/.wh.gone1')), 'the others are back');
    t.notOk(fs.existsSync(s.path('oci/a/gone1')), 'and no whiteout is left');
  });
}

