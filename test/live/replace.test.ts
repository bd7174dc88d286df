// Atomic replacement of a running overlay: lookups through the target see the
// old stack or the new one, never the empty directory beneath; every refusal
// leaves the old stack as it was.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { kernelFeatures, mountSync, replace, replaceSync, type ReplaceOptions } from '../../lib/index';
import { newFds, openFdCount, openFdLinks } from '../helpers/live';
import { mountsAt, topMount, waitFor } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

const REPLACEMENTS = 1000;

function twoStacks(s: Scratch): { a: ReplaceOptions; b: ReplaceOptions; target: string } {
  const [a1, a2, b1, b2, target] = s.mkdirs('a1', 'a2', 'b1', 'b2', 'm');
  s.write({ 'a1/f': 'A', 'a2/only-a': '', 'b1/f': 'B', 'b2/only-b': '' });
  return { a: { lower: [a1!, a2!] }, b: { lower: [b1!, b2!] }, target: target! };
}

const beneath = kernelFeatures().moveMountBeneath;

/** A child with a piped stdout, run to its end: the event loop's first stream. */
async function streamWarmUp(): Promise<void> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.on('close', resolve));
}

t.test('without MOVE_MOUNT_BENEATH: refused before anything is touched', { skip: beneath ? 'this kernel has it' : false }, async (t) => {
  const s = scratch(t);
  const { a, b, target } = twoStacks(s);
  const m = mountSync({ ...a, target });
  const before = topMount(target);
  await t.rejects(replace(target, b), { code: 'ENOSYS', field: 'target', message: /MOVE_MOUNT_BENEATH \(Linux 6\.5\+\)/ });
  t.same(topMount(target), before, 'the old stack stays');
  m.unmountSync();
});

t.test('replace swaps the stack; open files keep the old one', { ...needsOverlay, skip: needsOverlay.skip || (!beneath && 'no MOVE_MOUNT_BENEATH') }, async (t) => {
  const s = scratch(t);
  const { a, b, target } = twoStacks(s);
  const old = mountSync({ ...a, target });
  const held = fs.openSync(path.join(target, 'f'), 'r');
  const fds = openFdCount();

  const next = await replace(target, b);
  t.equal(next.target, target);
  t.not(next.mountId, old.mountId, 'a new mount');
  t.equal(mountsAt(target).length, 1, 'one mount on the target');
  t.equal(topMount(target)?.mountId, next.mountId);
  t.same(fs.readdirSync(target).sort(), ['f', 'only-b']);
  t.equal(fs.readFileSync(held, 'utf8'), 'A', 'the open file still reads the old stack');
  fs.closeSync(held);
  t.equal(openFdCount(), fds - 1, 'no fd left by replace');

  const again = replaceSync(target, { ...a, propagation: 'private', readOnly: true });
  t.equal(fs.readFileSync(path.join(target, 'f'), 'utf8'), 'A');
  t.match(topMount(target)?.mountOptions.join(','), /^ro,/);
  again.unmountSync();
  t.same(fs.readdirSync(target), [], 'nothing left beneath');
});

t.test('a template update: same upper, new lower, writes survive', { ...needsOverlay, skip: needsOverlay.skip || (!beneath && 'no MOVE_MOUNT_BENEATH') }, async (t) => {
  const s = scratch(t);
  const [v1, v2, upper, work1, work2, target] = s.mkdirs('v1', 'v2', 'upper', 'work1', 'work2', 'm');
  s.write({ 'v1/version': '1', 'v2/version': '2' });
  const m = mountSync({ lower: [v1], upper, work: work1, target });
  fs.writeFileSync(path.join(target, 'state'), 'kept');
  // A fresh work directory: overlay empties its work directory at mount, under the running stack's feet otherwise.
  const next = replaceSync(target, { lower: [v2], upper, work: work2 });
  t.equal(fs.readFileSync(path.join(target, 'version'), 'utf8'), '2', 'the new template shows');
  t.equal(fs.readFileSync(path.join(target, 'state'), 'utf8'), 'kept', 'the container’s own writes survive');
  next.unmountSync();
  t.notOk(m.mounted && mountsAt(target).length > 0, 'nothing left');
});

t.test(`a reader never fails across ${REPLACEMENTS} replacements`, { ...needsOverlay, skip: needsOverlay.skip || (!beneath && 'no MOVE_MOUNT_BENEATH') }, async (t) => {
  const s = scratch(t);
  const { a, b, target } = twoStacks(s);
  mountSync({ ...a, target });
  // libuv keeps one /dev/null fd per loop, opened at the loop's first stream
  // (its reserve against EMFILE): under tap stdout is that stream, but with
  // stdout a file (the VM runner) it is the reader's pipe below. Open it now.
  await streamWarmUp();
  const stop = s.path('stop');
  const fds = openFdLinks();
  const reader = spawn(process.execPath, [path.join(__dirname, '..', 'fixtures', 'path-reader.js'), stop, path.join(target, 'f')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  reader.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  // 'close', not 'exit': only then is the reader's stdout pipe closed here too.
  const exited = new Promise<number | null>((resolve) => reader.on('close', resolve));
  await waitFor('the reader to see the first stack', () => fs.existsSync(`${stop}.saw-A`));

  let micros = 0;
  for (let i = 0; i < REPLACEMENTS; i++) {
    const options = i % 2 === 0 ? b : a;
    const started = process.hrtime.bigint();
    if (i % 3 === 0) replaceSync(target, options);
    else await replace(target, options);
    micros += Number(process.hrtime.bigint() - started) / 1000 / REPLACEMENTS;
    // Once, so that it has seen both whatever the scheduler does (a wait in every round would be a slower test).
    if (i === 0) await waitFor('the reader to see the second stack', () => fs.existsSync(`${stop}.saw-B`));
  }
  fs.writeFileSync(stop, '');
  t.equal(await exited, 0);
  const result = JSON.parse(out) as { reads: number; seen: Record<string, number>; errors: Record<string, number> };
  t.comment(`${REPLACEMENTS} replacements, ${micros.toFixed(0)} µs each; reader: ${JSON.stringify(result)}`);
  t.same(result.errors, {}, 'the reader never saw an error');
  t.ok(result.seen.A! > 0 && result.seen.B! > 0, 'and it saw both stacks');
  t.equal(mountsAt(target).length, 1, 'one mount on the target');
  t.same(newFds(fds, openFdLinks()), [], 'no fd left behind');
  execFileSync('umount', [target]);
});

t.test('refusals leave the old stack and no fd', { ...needsOverlay, skip: needsOverlay.skip || (!beneath && 'no MOVE_MOUNT_BENEATH') }, async (t) => {
  const s = scratch(t);
  const { a, b, target } = twoStacks(s);
  const [plain, tmpfs] = s.mkdirs('plain', 'tmpfs');
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', tmpfs]);
  const m = mountSync({ ...a, target });
  const before = topMount(target);
  const fds = openFdCount();

  t.throws(() => replaceSync(plain, b), { code: 'EINVAL', field: 'target', message: /nothing is mounted/ });
  t.same(mountsAt(plain), [], 'nothing mounted on a plain directory');
  t.throws(() => replaceSync(tmpfs, b), { code: 'EINVAL', field: 'target', message: /not an overlay/ });
  t.equal(mountsAt(tmpfs).length, 1, 'the tmpfs alone');
  await t.rejects(replace(target, { lower: [s.path('missing'), ...b.lower] }), { code: 'ENOENT', field: 'lower[0]' });
  await t.rejects(replace(target, { ...b, mechanism: 'mount' }), { code: 'ENOTSUP', field: 'mechanism' });
  // The kernel's own refusal: an overlay cannot be an upper layer.
  fs.mkdirSync(s.path('a1/up'));
  fs.mkdirSync(s.path('a1/wk'));
  await t.rejects(replace(target, { ...b, upper: path.join(target, 'up'), work: path.join(target, 'wk') }), { code: 'EINVAL', syscall: 'fsconfig' });
  t.throws(() => replaceSync(target, { lower: [] }), { code: 'EINVAL', field: 'lower' });

  t.same(topMount(target), before, 'the old stack is still the one mounted');
  t.equal(mountsAt(target).length, 1, 'and nothing beneath it');
  t.equal(fs.readFileSync(path.join(target, 'f'), 'utf8'), 'A');
  t.equal(openFdCount(), fds, 'no fd left open');
  m.unmountSync();
  execFileSync('umount', [tmpfs]);
});

t.test('the replaced mount object no longer owns the target', { ...needsOverlay, skip: needsOverlay.skip || (!beneath && 'no MOVE_MOUNT_BENEATH') }, async (t) => {
  const s = scratch(t);
  const { a, b, target } = twoStacks(s);
  let next;
  {
    using old = mountSync({ ...a, target });
    next = replaceSync(target, b);
    t.notOk(old.mounted, 'mounted tells the truth after a standalone replace() too');
  }
  t.equal(fs.readFileSync(path.join(target, 'f'), 'utf8'), 'B', 'disposing the old object left the new stack mounted');
  const third = await next.replace(a);
  t.notOk(next.mounted, 'the method form hands the target over');
  t.equal(fs.readFileSync(path.join(target, 'f'), 'utf8'), 'A');
  third.unmountSync();
  t.same(mountsAt(target), []);
});
