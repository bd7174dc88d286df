// One writer per upper: mount refuses an upper or work that a mounted
// overlay uses (or a directory inside one), compared by device and inode, and
// never matches a layer mountinfo names by something that is no path here.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { mount, mountSync } from '../../lib/index';
import { holdersOf, liveWriters } from '../../lib/inspect/live-writers';
import { ovl } from '../helpers/cli';
import { mountsAt, unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

t.test('mount refuses an upper or work another overlay uses, naming the field, the target and the mount id', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, upper2, work2, m1, m2] = s.mkdirs('lower', 'upper', 'work', 'upper2', 'work2', 'm1', 'm2') as string[];
  const first = unmountAtEnd(t, mountSync({ lower: [lower!], upper: upper!, work: work!, target: m1! }));
  const cases: Array<[string, { upper: string; work: string }, string, RegExp]> = [
    ['the same upper', { upper: upper!, work: work2! }, 'upper', /is the upper .* undefined behavior/],
    ['the same work', { upper: upper2!, work: work! }, 'work', /is the work/],
    ['its upper as work', { upper: upper2!, work: upper! }, 'work', /is the upper/],
    ['its work as upper', { upper: work!, work: work2! }, 'upper', /is the work/],
  ];
  for (const [what, layers, field, words] of cases) {
    const message = new RegExp(`'${m1}' \\(mount id ${first.mountId}\\)`);
    t.throws(() => mountSync({ lower: [lower!], ...layers, target: m2! }), { name: 'OverlayError', code: 'EBUSY', errno: -16, field, path: layers[field as 'upper'], message }, what);
    await t.rejects(mount({ lower: [lower!], ...layers, target: m2! }), { code: 'EBUSY', field, message: words }, `${what}, Promise form`);
  }
  const cli = ovl(['mount', '--lower', lower!, '--upper', upper!, '--work', work2!, m2!]);
  t.equal(cli.status, 1, 'ovl mount: exit 1');
  t.match(cli.stderr, new RegExp(`^ovl: mount: EBUSY: upper: '${upper}' is the upper .* '${m1}' \\(mount id ${first.mountId}\\)`));
  t.same(mountsAt(m2!), [], 'nothing mounted');
  t.same(fs.readdirSync(upper2!), [], 'nothing made in the refused upper');
  t.same(fs.readdirSync(work2!), [], 'nor in the refused work');
  // Its own upper and work: fine once the first is gone.
  first.unmountSync();
  mountSync({ lower: [lower!], upper: upper!, work: work!, target: m2! }).unmountSync();
});

t.test('by device and inode: a symlink, a bind mount and a directory inside are the same directory', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, upper, work, work2, work3, m1, m2, bound] = s.mkdirs('lower', 'upper', 'work', 'work2', 'work3', 'm1', 'm2', 'bound') as string[];
  unmountAtEnd(t, mountSync({ lower: [lower!], upper: upper!, work: work!, target: m1! }));
  fs.symlinkSync(upper!, s.path('upper-link'));
  t.throws(() => mountSync({ lower: [lower!], upper: s.path('upper-link'), work: work2!, target: m2! }), { code: 'EBUSY', field: 'upper' }, 'through a symlink');
  execFileSync('mount', ['--bind', s.dir, bound!]);
  t.teardown(() => execFileSync('umount', [bound!]));
  // Upper and work must share a mount: both through the bind mount.
  t.throws(() => mountSync({ lower: [lower!], upper: `${bound}/upper`, work: `${bound}/work2`, target: m2! }), { code: 'EBUSY', field: 'upper' }, 'through a bind mount');
  fs.mkdirSync(s.path('upper/inner'));
  t.throws(() => mountSync({ lower: [lower!], upper: s.path('upper/inner'), work: work3!, target: m2! }), { code: 'EBUSY', field: 'upper', message: /lies inside '.*upper', the upper of the overlay mounted on/ }, 'a directory inside its upper');
  t.same(mountsAt(m2!), []);
});

t.test('two overlays on unrelated directories of one filesystem are fine', needsOverlay, async (t) => {
  const s = scratch(t);
  const [lower, u1, w1, u2, w2, m1, m2] = s.mkdirs('lower', 'a/upper', 'a/work', 'b/upper', 'b/work', 'm1', 'm2') as string[];
  const a = unmountAtEnd(t, mountSync({ lower: [lower!], upper: u1!, work: w1!, target: m1! }));
  const b = unmountAtEnd(t, await mount({ lower: [lower!], upper: u2!, work: w2!, target: m2! }));
  t.ok(a.mounted && b.mounted);
});

// mountinfo lines made for the test: what a layer's name means depends on the process that mounted it.
function overlayLine(id: number, target: string, upper: string, work: string): string {
  return `${id} 1 0:99 / ${target} rw,relatime shared:1 - overlay overlay rw,lowerdir=/l,upperdir=${upper},workdir=${work}`;
}

t.test('layers mountinfo names by no path here never match', async (t) => {
  const s = scratch(t);
  const [dir, other] = s.mkdirs('dir', 'other') as string[];
  const fd = fs.openSync(dir!, 'r');
  t.teardown(() => fs.closeSync(fd));
  const text = [
    // Another process's fd: here /proc/self/fd/N is this process's fd N, which happens to be `dir`.
    overlayLine(500, '/m1', `/proc/self/fd/${fd}`, `/proc/self/fd/${fd}`),
    // A detached tree's root, as an image or idmapped layer shows.
    overlayLine(501, '/m2', '/', '/'),
    // Relative (mounted from another working directory).
    overlayLine(502, '/m3', 'dir', 'dir'),
  ].join('\n');
  process.chdir(s.dir);
  t.teardown(() => process.chdir('/'));
  t.same(holdersOf(dir!, liveWriters(text)), [], 'no match through an fd name or a relative name');
  t.same(holdersOf('/', liveWriters(text)), [], "'/' is never an upper");
  const real = liveWriters(overlayLine(503, '/m4', other!, dir!));
  t.match(holdersOf(dir!, real), [{ as: 'work', path: dir, inside: false, mount: { mountId: 503, target: '/m4' } }], 'a real path matches');
});
