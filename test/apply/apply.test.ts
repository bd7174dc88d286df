// apply(): a declaration of stacks brought to the host in one call. Twenty
// stacks over one template, upgraded under a reader; keep without a mount
// call; a broken stack refused with nothing changed; stacks leaving unmounted
// while a foreign overlay stays; dry runs; the record detecting what it did not do.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { apply, applySync, kernelFeatures, mountSync, type ApplyOptions, type Declaration, type StackDeclaration } from '../../lib/index';
import { needsIdmap } from '../helpers/idmap';
import { mountsAt, topMount, waitFor } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';
import { nodeCommand } from '../helpers/child-env';

// Asked when a test reads them, not at import (the answer probes the kernel).
const canReplace = (): boolean => kernelFeatures().moveMountBeneath && kernelFeatures().lowerdirPlus;
const needsReplace = {
  get skip(): string | false {
    return needsOverlay.skip || (!canReplace() && 'no MOVE_MOUNT_BENEATH (6.5+) with lowerdir+ (6.8+)');
  },
};
const noReplace = {
  get skip(): string | false {
    return needsOverlay.skip || (canReplace() && 'this kernel can replace');
  },
};

interface Host {
  s: Scratch;
  stateFile: string;
  declare(count: number, template: string, extra?: Partial<StackDeclaration>): Declaration;
  target(i: number): string;
  /** The top mount id on each of the first `count` targets ('' when none). */
  ids(count: number): string[];
}

function host(t: Parameters<typeof scratch>[0]): Host {
  const s = scratch(t, 'ovl-apply-');
  s.write({ 'v1/version': '1', 'v2/version': '2', 'v1/base': 'b' });
  fs.mkdirSync(s.path('broken-template'));
  const target = (i: number) => s.path(`stacks/${i}/merged`);
  return {
    s,
    stateFile: path.join(s.mkdirs('state')[0] as string, 'apply.json'),
    target,
    declare(count, template, extra = {}) {
      const stacks = Array.from({ length: count }, (_, i): StackDeclaration => {
        for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(s.path(`stacks/${i}/${d}`), { recursive: true });
        return { name: `c${i}`, target: target(i), lower: [s.path(template)], upper: s.path(`stacks/${i}/upper`), work: s.path(`stacks/${i}/work`), ...extra };
      });
      return { stacks };
    },
    ids: (count) => Array.from({ length: count }, (_, i) => String(topMount(target(i))?.mountId ?? '')),
  };
}

t.test('twenty stacks over v1, upgraded to v2 under a reader: no miss, uppers kept; again: all keep, no mount id changed', needsReplace, async (t) => {
  const h = host(t);
  const first = await apply(h.declare(20, 'v1'), { stateFile: h.stateFile });
  t.same(first.actions.map((a) => a.action), Array(20).fill('mount'));
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(h.target(i), 'mine'), `written in ${i}`);
  const stop = h.s.path('stop');
  const reader = spawn(...nodeCommand([path.join(__dirname, '..', 'fixtures', 'path-reader.js'), stop, ...Array.from({ length: 20 }, (_, i) => path.join(h.target(i), 'version'))]), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  reader.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => reader.on('close', resolve));
  await waitFor('the reader to see v1', () => fs.existsSync(`${stop}.saw-1`));

  const upgrade = await apply(h.declare(20, 'v2'), { stateFile: h.stateFile });
  await waitFor('the reader to see v2', () => fs.existsSync(`${stop}.saw-2`));
  fs.writeFileSync(stop, '');
  t.equal(await exited, 0);
  const seen = JSON.parse(out) as { reads: number; seen: Record<string, number>; errors: Record<string, number> };
  t.comment(`reader: ${JSON.stringify(seen)}`);
  t.same(seen.errors, {}, 'the reader never missed');
  t.ok(seen.seen['1']! > 0 && seen.seen['2']! > 0, 'and saw both templates');
  t.same(upgrade.actions.map((a) => [a.action, a.reason]), Array(20).fill(['replace', 'changed: lower']));
  for (let i = 0; i < 20; i++) {
    t.equal(fs.readFileSync(path.join(h.target(i), 'version'), 'utf8'), '2');
    t.equal(fs.readFileSync(path.join(h.target(i), 'mine'), 'utf8'), `written in ${i}`, `stack ${i} kept its upper`);
    t.equal(mountsAt(h.target(i)).length, 1, 'one mount on the target');
    // A stack the reader had a file open in at that instant was busy: detached, its generation kept.
    const busy = upgrade.actions[i]?.stillInUse === true;
    t.same(fs.readdirSync(h.s.path(`stacks/${i}/work`)).sort(), busy ? ['g1', 'g2'] : ['g2'], busy ? 'busy: the old generation kept' : 'the old work generation is gone');
  }
  const kept = upgrade.actions.filter((a) => a.stillInUse).map((a) => path.join(path.dirname(a.work as string), 'g1'));
  t.same((JSON.parse(fs.readFileSync(h.stateFile, 'utf8')) as { keptWork: string[] }).keptWork, kept, 'the kept generations are in the record');
  t.comment(`${kept.length} of 20 stacks were busy under the reader at their switch`);
  const before = h.ids(20);
  const again = applySync(h.declare(20, 'v2'), { stateFile: h.stateFile });
  t.same(again.actions.map((a) => a.action), Array(20).fill('keep'));
  t.same(h.ids(20), before, 'no mount id changed');
  t.same(again.actions.map((a) => String(a.mountId)), before);
  applySync({ stacks: [] }, { stateFile: h.stateFile });
  t.same(h.ids(20), Array(20).fill(''), 'all unmounted');
});

t.test('a declaration with one broken stack is refused and nothing changes', needsOverlay, async (t) => {
  const h = host(t);
  applySync(h.declare(3, 'v1'), { stateFile: h.stateFile });
  const ids = h.ids(3);
  const record = fs.readFileSync(h.stateFile, 'utf8');
  const fds = fs.readdirSync('/proc/self/fd').length;

  const broken = h.declare(4, canReplace() ? 'v2' : 'v1');
  (broken.stacks[3] as StackDeclaration).lower = [h.s.path('v1'), h.s.path('missing')];
  await t.rejects(apply(broken, { stateFile: h.stateFile }), { code: 'ENOENT', field: 'stacks[3].lower[1]', message: /stack 'c3'/ });
  const badOption = h.declare(4, 'v1');
  (badOption.stacks[2] as unknown as Record<string, unknown>).metacopy = 'yes';
  t.throws(() => applySync(badOption, { stateFile: h.stateFile }), { name: /Error/, field: 'stacks[2].metacopy' });
  // The kernel's refusal at create: an overlay cannot be an upper layer.
  const kernelRefusal = h.declare(4, 'v1');
  fs.mkdirSync(h.s.path('v1/up'));
  fs.mkdirSync(h.s.path('v1/wk'));
  Object.assign(kernelRefusal.stacks[3] as StackDeclaration, { upper: path.join(h.target(0), 'up'), work: path.join(h.target(0), 'wk') });
  if (kernelFeatures().lowerdirPlus) t.throws(() => applySync(kernelRefusal, { stateFile: h.stateFile }), { name: 'OverlayError', syscall: 'fsconfig', field: /^stacks\[3\]/ });
  t.throws(() => applySync({ stacks: [{ name: 'a', target: h.target(0), lower: [h.s.path('v1')] }] }, { stateFile: h.stateFile }), { name: /Error/, field: 'stacks[0].lower' });
  const twice = h.declare(2, 'v1');
  (twice.stacks[1] as StackDeclaration).name = 'c0';
  t.throws(() => applySync(twice, { stateFile: h.stateFile }), { name: /Error/, field: 'stacks[1].name' });

  t.same(h.ids(4), [...ids, ''], 'every target as it was');
  t.equal(fs.readFileSync(h.stateFile, 'utf8'), record, 'the record unchanged');
  t.same(fs.readdirSync(h.s.path('stacks/3/work')), [], 'no work generation left behind');
  t.same(fs.readdirSync(h.s.path('stacks/0/work')), ['g1']);
  t.equal(fs.readdirSync('/proc/self/fd').length, fds, 'no fd left open');
  applySync({ stacks: [] }, { stateFile: h.stateFile });
});

t.test('stacks removed from the declaration are unmounted; the others and a foreign overlay are not touched', needsOverlay, async (t) => {
  const h = host(t);
  applySync(h.declare(4, 'v1'), { stateFile: h.stateFile });
  const [foreignTarget] = h.s.mkdirs('foreign');
  const foreign = mountSync({ lower: [h.s.path('v1'), h.s.path('v2')], target: foreignTarget! });
  const ids = h.ids(4);
  const two = h.declare(2, 'v1');
  const dry = applySync(two, { stateFile: h.stateFile, dryRun: true });
  t.same(dry.actions.map((a) => [a.name, a.action]), [['c0', 'keep'], ['c1', 'keep'], ['c2', 'unmount'], ['c3', 'unmount']]);
  t.same(h.ids(4), ids, 'the dry run changed nothing');
  const r = await apply(two, { stateFile: h.stateFile });
  t.same(r.actions.map((a) => [a.name, a.action]), [['c0', 'keep'], ['c1', 'keep'], ['c2', 'unmount'], ['c3', 'unmount']]);
  t.same(h.ids(4), [ids[0], ids[1], '', ''], 'kept stacks keep their mount ids, removed ones are gone');
  t.equal(String(topMount(foreignTarget!)?.mountId), String(foreign.mountId), 'the foreign overlay is still there');
  t.same(fs.readdirSync(h.s.path('stacks/2/work')), [], 'an unmounted stack’s work generation is removed');
  // A declaration naming the foreign overlay's target is refused: apply never touches a mount it did not make.
  const over = { stacks: [...two.stacks, { name: 'grab', target: foreignTarget!, lower: [h.s.path('v1'), h.s.path('v2')] }] };
  t.throws(() => applySync(over, { stateFile: h.stateFile }), { code: 'EBUSY', field: 'stacks[2].target', message: /did not make/ });
  t.equal(mountsAt(foreignTarget!).length, 1);
  applySync({ stacks: [] }, { stateFile: h.stateFile });
  t.equal(String(topMount(foreignTarget!)?.mountId), String(foreign.mountId), 'an empty declaration leaves the foreign overlay too');
  foreign.unmountSync();
});

t.test('the record: a manual umount, someone else’s mount, another boot are detected and never acted on', needsOverlay, async (t) => {
  const h = host(t);
  applySync(h.declare(3, 'v1'), { stateFile: h.stateFile });
  // stack 0: unmounted by hand
  execFileSync('umount', [h.target(0)]);
  // stack 1: unmounted by hand and another overlay mounted there
  execFileSync('umount', [h.target(1)]);
  const other = mountSync({ lower: [h.s.path('v1'), h.s.path('v2')], target: h.target(1) });
  const dry = applySync({ stacks: [] }, { stateFile: h.stateFile, dryRun: true });
  t.same(dry.actions.map((a) => [a.name, a.action]), [['c2', 'unmount']], 'only the mount still its own would be unmounted');
  t.same(dry.skipped.map((s) => s.name), ['c0', 'c1']);
  t.match(dry.skipped[0]?.reason, /no longer on top/);
  const redo = applySync(h.declare(1, 'v1'), { stateFile: h.stateFile });
  t.same(redo.actions.map((a) => [a.name, a.action]), [['c0', 'mount'], ['c2', 'unmount']]);
  t.equal(String(topMount(h.target(1))?.mountId), String(other.mountId), 'the overlay someone else mounted stays');
  // Another boot: every record from it describes mounts that no longer exist.
  const record = JSON.parse(fs.readFileSync(h.stateFile, 'utf8')) as { stacks: Array<{ bootId: string }> };
  for (const s of record.stacks) s.bootId = 'an-earlier-boot';
  fs.writeFileSync(h.stateFile, JSON.stringify(record));
  t.throws(() => applySync(h.declare(1, 'v1'), { stateFile: h.stateFile }), { code: 'EBUSY', field: 'stacks[0].target', message: /earlier boot/ });
  const none = applySync({ stacks: [] }, { stateFile: h.stateFile });
  t.same(none.actions, [], 'nothing unmounted from a record of another boot');
  t.match(none.skipped, [{ name: 'c0', reason: /earlier boot/ }]);
  other.unmountSync();
  execFileSync('umount', [h.target(0)]);
});

t.test('killed between the switch and the record: the pending entries are confirmed or dropped', needsReplace, async (t) => {
  const h = host(t);
  type Entry = Record<string, unknown> & { target: string; uniqueId: number; mountId: number; overlay: string; generation: number };
  type Rec = { version: 1; stacks: Entry[]; keptWork: string[] };
  const read = (): Rec => JSON.parse(fs.readFileSync(h.stateFile, 'utf8')) as Rec;
  applySync(h.declare(3, 'v1'), { stateFile: h.stateFile });
  const before = read();
  applySync(h.declare(3, 'v2'), { stateFile: h.stateFile });
  const after = read();
  const ids = h.ids(3);
  // What the record held while the switch ran: the old entries and the new ones, pending.
  const pending = (r: Rec): Entry[] => r.stacks.map((e) => ({ ...e, overlay: '', pending: true }));
  fs.writeFileSync(h.stateFile, JSON.stringify({ ...before, stacks: [...before.stacks, ...pending(after)] }));
  const confirmed = applySync(h.declare(3, 'v2'), { stateFile: h.stateFile });
  t.same(confirmed.actions.map((a) => a.action), ['keep', 'keep', 'keep'], 'the switched-in stacks are recognised as apply’s own');
  t.same(h.ids(3), ids, 'and left alone');
  t.same(read().stacks.map((e) => [e.target, e.mountId, e.overlay]), after.stacks.map((e) => [e.target, e.mountId, e.overlay]), 'the record as if nothing had happened');
  t.same(read().keptWork, before.stacks.map((e) => h.s.path(`stacks/${before.stacks.indexOf(e)}/work/g${e.generation}`)), 'the replaced stacks’ generations set aside');
  // Pending entries whose switch never happened (other ids): dropped, and their generations, which the
  // killed process's detached mounts took with them, removed as no stack's.
  const neverSwitched = pending(read()).map((e) => ({ ...e, uniqueId: e.uniqueId + 1000000, mountId: e.mountId + 100000, generation: 9 }));
  for (let i = 0; i < 3; i++) h.s.mkdirs(`stacks/${i}/work/g9/work`);
  fs.writeFileSync(h.stateFile, JSON.stringify({ ...read(), keptWork: [], stacks: [...read().stacks, ...neverSwitched] }));
  t.same(applySync(h.declare(3, 'v2'), { stateFile: h.stateFile }).actions.map((a) => a.action), ['keep', 'keep', 'keep']);
  t.same(read().stacks.length, 3);
  t.same(read().keptWork, []);
  t.same([0, 1, 2].map((i) => fs.readdirSync(h.s.path(`stacks/${i}/work`))), [0, 1, 2].map(() => ['g2']), 'only the mounted generations are left');
  applySync({ stacks: [] }, { stateFile: h.stateFile });
});

t.test('a replaced stack still in use is detached, and its work generation kept', needsReplace, async (t) => {
  const h = host(t);
  applySync(h.declare(1, 'v1'), { stateFile: h.stateFile });
  const held = fs.openSync(path.join(h.target(0), 'version'), 'r');
  const r = applySync(h.declare(1, 'v2'), { stateFile: h.stateFile });
  t.match(r.actions[0], { action: 'replace', stillInUse: true, work: h.s.path('stacks/0/work/g2') });
  t.equal(fs.readFileSync(held, 'utf8'), '1', 'the open file still reads the old stack');
  fs.closeSync(held);
  t.same(fs.readdirSync(h.s.path('stacks/0/work')).sort(), ['g1', 'g2'], 'the old generation is kept');
  t.match(JSON.parse(fs.readFileSync(h.stateFile, 'utf8')), { keptWork: [h.s.path('stacks/0/work/g1')] });
  applySync({ stacks: [] }, { stateFile: h.stateFile });
});

t.test('without MOVE_MOUNT_BENEATH: a declaration needing a replace is refused before anything changes', noReplace, async (t) => {
  const h = host(t);
  applySync(h.declare(2, 'v1'), { stateFile: h.stateFile });
  const ids = h.ids(2);
  const next = h.declare(3, 'v1');
  (next.stacks[1] as StackDeclaration).lower = [h.s.path('v2')];
  t.throws(() => applySync(next, { stateFile: h.stateFile }), { code: 'ENOSYS', field: 'stacks[1]' });
  t.same(h.ids(3), [...ids, ''], 'nothing changed');
  applySync({ stacks: [] }, { stateFile: h.stateFile });
  t.same(h.ids(2), ['', '']);
});

t.test('idmapped layers compose: a stack with idmap is mounted mapped, then kept', needsIdmap, async (t) => {
  const h = host(t);
  fs.chownSync(h.s.path('v1/version'), 0, 0);
  const declaration = h.declare(1, 'v1', { idmap: { uidMap: [[0, 100000, 65536]], gidMap: [[0, 200000, 65536]] } });
  const first = applySync(declaration, { stateFile: h.stateFile });
  t.match(first.actions, [{ action: 'mount' }]);
  const shown = fs.statSync(path.join(h.target(0), 'version'));
  t.same([shown.uid, shown.gid], [100000, 200000], 'the lower’s root-owned file shows mapped');
  const ids = h.ids(1);
  t.match(applySync(declaration, { stateFile: h.stateFile }).actions, [{ action: 'keep' }]);
  t.same(h.ids(1), ids, 'kept without a mount call');
  const plain = h.declare(1, 'v1');
  if (canReplace()) t.match(applySync(plain, { stateFile: h.stateFile }).actions, [{ action: 'replace', reason: 'changed: idmap' }]);
  applySync({ stacks: [] }, { stateFile: h.stateFile });
});

t.test('bad arguments', async (t) => {
  t.throws(() => applySync(null as unknown as Declaration), { name: /Error/, field: 'declaration' });
  t.throws(() => applySync({ stacks: {} } as unknown as Declaration), { name: /Error/, field: 'stacks' });
  t.throws(() => applySync({ stacks: [], extra: 1 } as unknown as Declaration), { name: /Error/, field: 'extra' });
  t.throws(() => applySync({ stacks: [{ target: '/x', lower: ['/a'] }] } as unknown as Declaration), { name: /Error/, field: 'stacks[0].name' });
  t.throws(() => applySync({ stacks: [{ name: 'a', target: '/x', lower: ['/a'], lowre: ['/b'] }] } as unknown as Declaration), { name: /Error/, field: 'stacks[0].lowre', message: /stack 'a'.*not an option of mount/ });
  t.throws(() => applySync({ stacks: [] }, { dryRun: 'yes' } as unknown as ApplyOptions), { name: /Error/, field: 'dryRun' });
  t.throws(() => applySync({ stacks: [] }, { stateFile: '' } as ApplyOptions), { name: /Error/, field: 'stateFile' });
});
