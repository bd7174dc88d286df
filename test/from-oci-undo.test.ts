// fromOci is all or nothing: a failure at any stage (the check, the
// whiteouts, the opaque marks, the markers' removal) leaves the layer exactly
// as it was, every .wh. marker still there.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { fromOci, fromOciSync, isOpaqueSync, isWhiteoutSync, type WhiteoutKind } from '../lib/index';
import { armFault, disarmFaults } from '../lib/fault-points';
import { needsRoot } from './helpers/layer';
import { layerState } from './helpers/layer-state';
import { scratch, type Scratch } from './helpers/scratch';

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
      await expectUntouched(t, s, () => convert(s.path('oci'), kind), { code: 'EROFS', field: '/c', syscall: 'access' });
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

    t.test(`${form}, ${kind}: a failure while marking directories opaque`, needsRoot, async (t) => {
      const s = scratch(t);
      writeLayer(s, 'oci');
      fs.mkdirSync(s.path('oci/d'));
      fs.writeFileSync(s.path('oci/d/.wh..wh..opq'), '');
      armFault('fromOci:opaque', 1);
      t.teardown(disarmFaults);
      await expectUntouched(t, s, () => convert(s.path('oci'), kind), { code: 'EIO', message: /injected/ });
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

t.test('an injected failure on the last marker: every marker comes back with its metadata', needsRoot, async (t) => {
  const s = scratch(t);
  writeLayer(s, 'oci');
  armFault('fromOci:unlink', 5); // the sixth and last marker
  t.teardown(disarmFaults);
  await expectUntouched(t, s, () => fromOci(s.path('oci')), { code: 'EIO' });
  fromOciSync(s.path('oci'));
  t.equal(isWhiteoutSync('a/gone1', { root: s.path('oci') }), 'chardev', 'and then it converts');
  t.equal(isOpaqueSync('b', { root: s.path('oci') }), 'y');
  t.notOk(fs.existsSync(s.path('oci/c/.wh.link')));
});

t.test('a name that is not UTF-8 is refused by name, before anything changes', needsRoot, async (t) => {
  const s = scratch(t);
  writeLayer(s, 'oci');
  execFileSync('sh', ['-c', 'printf "" > "$(printf "%s/z/.wh.caf\\351" "$1")"', 'sh', s.path('oci')]);
  await expectUntouched(t, s, () => fromOci(s.path('oci')), { code: 'EINVAL', field: '/z/.wh.caf\\351' });
});
