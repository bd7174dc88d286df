// The record of a mount's images as the addon writes it, in the same call as
// the mount: every field, any name intact, and a record that cannot be
// written costs a warning, never the mount or a half-written file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { listMountsSync, mount, mountSync, type OverlayMount } from '../../lib/index';
import { makeSquashfs, needsImages } from '../helpers/images';
import { scratch, type Scratch } from '../helpers/scratch';

function recordsAt(t: Test, dir: string): string {
  process.env.OVERLAY_NATIVE_RECORD_DIR = dir;
  t.teardown(() => delete process.env.OVERLAY_NATIVE_RECORD_DIR);
  return dir;
}

const filesIn = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

/** A squashfs image under `name` (any bytes a file name may hold), a plain layer and a target. */
function stack(s: Scratch, name: string): { image: string; plain: string; target: string } {
  s.write({ 'src/f': 'image', 'a/f': 'a' });
  const image = makeSquashfs(s.path('src'), s.path(name));
  const [target] = s.mkdirs('merged');
  return { image, plain: s.path('a'), target: target! };
}

for (const form of ['mountSync', 'mount'] as const) {
  t.test(`${form}: the record holds every field, names with quotes, backslashes, control characters and non-ASCII intact`, needsImages, async (t) => {
    const s = scratch(t);
    // Two levels that do not exist yet: made on first use, private to root.
    const dir = recordsAt(t, s.path('run/deeper/records'));
    const { image, plain, target } = stack(s, 'sq "quoted" \\back\\ tab\tnew\nline ü €.img');
    const options = { lower: [{ image }, plain], target };
    const m: OverlayMount = form === 'mountSync' ? mountSync(options) : await mount(options);
    t.teardown(() => m.mounted && m.unmountSync());
    const files = filesIn(dir);
    t.equal(files.length, 1, 'one record, and no temporary file beside it');
    t.equal(fs.statSync(dir).mode & 0o777, 0o700, 'the directory is private');
    t.equal(fs.statSync(s.path('run')).mode & 0o777, 0o700, 'and so is each directory made on the way');
    t.equal(fs.statSync(path.join(dir, files[0]!)).mode & 0o777, 0o600, 'the record is readable by root alone');
    const record = JSON.parse(fs.readFileSync(path.join(dir, files[0]!), 'utf8'));
    t.match(record, {
      version: 1,
      uniqueMountId: m.uniqueMountId,
      mountId: m.mountId,
      superblock: /^\d+:\d+$/,
      mountNs: fs.readlinkSync('/proc/self/ns/mnt'),
      target,
      lower: [{ image, path: '/' }, null],
      data: [],
      upper: null,
      work: null,
      paths: { lower: [image, plain], data: [], upper: null, work: null },
    });
    t.same(record.images, [{ image, type: 'squashfs', loopDevice: m.images[0]!.loopDevice, readOnly: true }]);
    t.same(record.images, m.images, 'the record and the OverlayMount name the same images');
    // A record with a unique id is checked by it alone; one without, by its loop devices and their backing files.
    if (m.uniqueMountId) t.same(record.loops, []);
    else t.same(record.loops, [[m.images[0]!.loopDevice, image]]);
    const [listed] = listMountsSync({ target });
    t.same(listed?.lower, [image, plain], 'a listing names the image by the record');
    if (form === 'mountSync') m.unmountSync();
    else await m.unmount();
    t.same(filesIn(dir), [], 'unmounting removes it');
  });
}

t.test('a record that cannot be written costs a warning, not the mount, and leaves no file behind', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'not-a-dir': 'a file where the record directory should be' });
  recordsAt(t, s.path('not-a-dir'));
  const { image, plain, target } = stack(s, 'sq.img');
  for (const form of ['mountSync', 'mount'] as const) {
    const m = form === 'mountSync' ? mountSync({ lower: [{ image }, plain], target }) : await mount({ lower: [{ image }, plain], target });
    t.teardown(() => m.mounted && m.unmountSync());
    // The record is written unnamed (O_TMPFILE) in the directory: the open that fails is the directory's.
    t.match(m.warnings, [/^no record of the image layers: ENOTDIR: Not a directory, open '.*not-a-dir'$/]);
    t.ok(m.mounted, 'the overlay stays mounted');
    t.equal(fs.readFileSync(path.join(target, 'f'), 'utf8'), 'image');
    const [listed] = listMountsSync({ target });
    t.match(listed?.notes[0], { field: 'lower[0]', kind: /^(detached|fd-name)$/ }, 'a listing says the record is missing');
    m.unmountSync();
  }
  t.same(fs.readdirSync(s.dir).sort(), ['a', 'merged', 'not-a-dir', 'sq.img', 'src'], 'nothing was written anywhere else');
});
