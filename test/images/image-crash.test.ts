// `ovl mount` of image layers killed at each point (SIGKILL at the test
// addon's failure points): before the overlay is attached nothing is left (no
// loop device, no mount, no record); after, the overlay the kernel made is
// there, its record is either whole or absent (written unnamed, then linked),
// and one unmount frees everything. The same mount run again then works and
// leaves, once unmounted, nothing under the scratch directory but the images.
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { ovl, ovlKilledAt, type OvlResult } from '../helpers/cli';
import { loopsBackedBy, makeExt4, makeSquashfs, needsImages } from '../helpers/images';
import { mountsAt, waitFor } from '../helpers/mounts';
import { scratch, type Scratch } from '../helpers/scratch';
import { testAddonPath } from '../helpers/test-addon';

const haveTestAddon = fs.existsSync(testAddonPath) ? false : `${testAddonPath} is not built (npm run build:cmake)`;
const skip = needsImages.skip || haveTestAddon;

function ovlWith(env: NodeJS.ProcessEnv, args: string[]): OvlResult {
  return ovl(args, { env: { ...process.env, ...env } });
}

async function noLoopsFor(images: string[]): Promise<void> {
  // An autoclear device can be listed for a moment after its last close (KERNEL.md).
  await waitFor(`no loop device bound to ${images.join(', ')}`, () => images.every((i) => loopsBackedBy(i).length === 0));
}

function setup(s: Scratch): { images: string[]; args: string[]; records: string } {
  s.write({ 'src/lower-file': 'from the image' });
  const lower = makeSquashfs(s.path('src'), s.path('lower.sqfs'));
  const upper = makeExt4(s.path('upper.ext4'));
  fs.rmSync(s.path('src'), { recursive: true });
  fs.mkdirSync(s.path('target'));
  return { images: [lower, upper], args: ['mount', '--lower-image', lower, '--upper-image', upper, s.path('target')], records: s.path('records') };
}

// After the unmount: the images, the empty target and the record directory
// (made on first use), nothing else; no record left in it.
function onlyTheUsersFiles(t: Test, s: Scratch): void {
  t.same(fs.readdirSync(s.dir).sort(), ['lower.sqfs', 'records', 'target', 'upper.ext4'].filter((n) => n !== 'records' || fs.existsSync(s.path('records'))));
  if (fs.existsSync(s.path('records'))) t.same(fs.readdirSync(s.path('records')), [], 'no record and no temporary left');
  t.same(fs.readdirSync(s.path('target')), []);
}

for (const point of ['mountOverlay', 'image.loop-attached', 'image.mounted', 'imageRecord.written']) {
  t.test(`an image mount killed at ${point}`, { skip }, async (t) => {
    const s = scratch(t);
    const { images, args, records } = setup(s);
    const env = { OVERLAY_NATIVE_RECORD_DIR: records };
    const killed = ovlKilledAt(point, args, env);
    t.equal(killed.signal, 'SIGKILL', `killed at ${point} (${String(killed.stderr).trim() || 'exit ' + killed.status})`);
    const recordFiles = () => (fs.existsSync(records) ? fs.readdirSync(records) : []);
    if (point === 'imageRecord.written') {
      // The overlay was attached before the kill: the kernel's, and the user's to unmount.
      t.equal(mountsAt(s.path('target')).length, 1, 'the overlay the kernel made is mounted');
      t.same(recordFiles(), [], 'no record, and no temporary, in the record directory');
      t.equal(ovlWith(env, ['umount', s.path('target')]).status, 0);
    } else {
      t.same(mountsAt(s.path('target')), [], 'nothing mounted');
      t.same(recordFiles(), [], 'no record');
    }
    await noLoopsFor(images);
    const again = ovlWith(env, args);
    t.equal(again.status, 0, `the same mount then works (${String(again.stderr).trim()})`);
    t.equal(recordFiles().filter((n) => n.endsWith('.json')).length, 1, 'with its record');
    t.same(recordFiles().filter((n) => !n.endsWith('.json')), [], 'and nothing else beside it');
    t.equal(ovlWith(env, ['umount', s.path('target')]).status, 0);
    await noLoopsFor(images);
    onlyTheUsersFiles(t, s);
  });
}
