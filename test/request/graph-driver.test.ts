// fromGraphDriver() on records shaped like `docker inspect` prints them (the
// seeds' overlay2 records), with the layers made under a temporary directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { fromGraphDriver, mountSync, splitLowerDir } from '../../lib/index';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

const hex = (i: number) => i.toString(16).padStart(64, '0');

/** An overlay2 tree like /var/lib/docker/overlay2: <id>/diff per layer, the container's diff, work and merged. */
function dockerTree(s: Scratch, layers: number) {
  const root = s.path('docker', 'overlay2');
  const lower: string[] = [];
  for (let i = 0; i < layers; i++) {
    const diff = path.join(root, hex(i), 'diff');
    fs.mkdirSync(diff, { recursive: true });
    fs.writeFileSync(path.join(diff, `layer-${i}`), String(i));
    fs.writeFileSync(path.join(diff, 'shared'), String(i));
    lower.unshift(diff); // LowerDir lists the top layer first
  }
  const container = path.join(root, hex(9999));
  for (const d of ['diff', 'work', 'merged']) fs.mkdirSync(path.join(container, d), { recursive: true });
  const record = {
    Data: {
      LowerDir: lower.join(':'),
      MergedDir: path.join(container, 'merged'),
      UpperDir: path.join(container, 'diff'),
      WorkDir: path.join(container, 'work'),
    },
    Name: 'overlay2',
  };
  return { record, lower, container };
}

t.test('a record, its Data, or a whole inspect array give the same options', async (t) => {
  const s = scratch(t);
  const { record, lower, container } = dockerTree(s, 5);
  const expected = { lower, upper: path.join(container, 'diff'), work: path.join(container, 'work'), target: path.join(container, 'merged') };
  t.same(fromGraphDriver(record), expected);
  t.same(fromGraphDriver(record.Data), expected);
  t.same(fromGraphDriver([{ Id: 'sha256:x', GraphDriver: record, RootFS: { Type: 'layers' } }]), expected);
  t.same(fromGraphDriver({ GraphDriver: record }), expected);
  t.same(fromGraphDriver(record, { readOnly: true }), { lower: [expected.upper, ...lower], readOnly: true, target: expected.target }, 'read-only: upper becomes the top lower');
});

t.test('LowerDir: split where a new absolute path starts; \\: is a literal colon', async (t) => {
  t.same(splitLowerDir('/a/diff:/b/diff:/c/diff'), ['/a/diff', '/b/diff', '/c/diff']);
  t.same(splitLowerDir('/data:root/a/diff:/data:root/b/diff'), ['/data:root/a/diff', '/data:root/b/diff'], 'a colon inside a path stays');
  t.same(splitLowerDir('/x\\:/y:/z'), ['/x:/y', '/z'], 'an escaped colon before a slash stays');
  t.same(splitLowerDir('/only'), ['/only']);
});

t.test('refused with the reason: another driver, missing layers, malformed records', async (t) => {
  const s = scratch(t);
  const { record, lower } = dockerTree(s, 3);
  t.throws(() => fromGraphDriver({ ...record, Name: 'btrfs' }), { field: 'GraphDriver.Name', code: 'EINVAL', message: /btrfs/ });
  t.throws(() => fromGraphDriver({ Name: 'vfs', Data: null }), { code: 'EINVAL', message: /vfs/ });
  fs.rmSync(lower[1]!, { recursive: true });
  t.throws(() => fromGraphDriver(record), { field: 'LowerDir[1]', code: 'ENOENT', path: lower[1] });
  t.throws(() => fromGraphDriver({ ...record, Data: { ...record.Data, UpperDir: path.join(s.dir, 'nope') } }, { checkLayers: true }), { code: 'ENOENT' });
  fs.writeFileSync(s.path('file'), '');
  t.throws(() => fromGraphDriver({ Data: { LowerDir: s.path('file') + ':' + lower[0] } }), { field: 'LowerDir[0]', code: 'ENOTDIR' });
  t.throws(() => fromGraphDriver([record, record]), { field: 'record', message: /exactly one/ });
  t.throws(() => fromGraphDriver('text'), { field: 'record', code: 'EINVAL' });
  t.throws(() => fromGraphDriver({ Data: { LowerDir: 'relative/diff' } }), { field: 'LowerDir[0]', code: 'EINVAL' });
  t.throws(() => fromGraphDriver({ Data: { LowerDir: lower[0], UpperDir: lower[2] } }), { field: 'WorkDir', code: 'EINVAL' });
  t.throws(() => fromGraphDriver({ Data: { UpperDir: lower[0] } }, { readOnly: true }), { message: /at least two layers/ });
  t.same(fromGraphDriver({ Data: { LowerDir: lower.join(':') } }, { checkLayers: false }).lower.length, 3, 'checkLayers: false skips the existence checks');
});

t.test('128 layers, as Docker caps them: mounted at MergedDir, top layer wins', needsOverlay, async (t) => {
  const s = scratch(t);
  const { record, container } = dockerTree(s, 128);
  const opts = fromGraphDriver(JSON.parse(JSON.stringify([{ GraphDriver: record }])));
  t.equal(opts.lower.length, 128);
  const m = mountSync({ ...opts, target: opts.target! });
  unmountAtEnd(t, m);
  const merged = path.join(container, 'merged');
  t.equal(m.target, merged);
  t.equal(fs.readFileSync(path.join(merged, 'shared'), 'utf8'), '127', 'the first LowerDir entry is the top layer');
  t.equal(fs.readdirSync(merged).length, 129);
  fs.writeFileSync(path.join(merged, 'new'), 'x');
  t.ok(fs.existsSync(path.join(container, 'diff', 'new')), 'writes land in UpperDir');
  m.unmountSync();
});

t.test('--read-only view: nothing is written to any layer', needsOverlay, async (t) => {
  const s = scratch(t);
  const { record, container } = dockerTree(s, 4);
  fs.writeFileSync(path.join(container, 'diff', 'shared'), 'container');
  const [target] = s.mkdirs('view');
  const opts = fromGraphDriver(record, { readOnly: true });
  const m = mountSync({ ...opts, target: target! });
  unmountAtEnd(t, m);
  t.equal(fs.readFileSync(path.join(target!, 'shared'), 'utf8'), 'container', 'UpperDir is the top layer');
  t.throws(() => fs.writeFileSync(path.join(target!, 'x'), 'y'), { code: 'EROFS' });
  t.same(fs.readdirSync(path.join(container, 'work')), [], 'work untouched');
  m.unmountSync();
});
