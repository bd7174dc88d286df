// apply and stacks built on stacks: a stack whose lower is another's target,
// a target inside another's target, a cycle, an upgrade of the base, an
// empty declaration; each checked through the targets and mountinfo, not
// only through the report. Relative paths resolve against `base`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { applySync, apply, kernelFeatures, type Declaration, type StackDeclaration } from '../../lib/index';
import { listMountsSync } from '../../lib/inspect/mountinfo';
import { mountsAt, topMount } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

const canReplace = (): boolean => kernelFeatures().moveMountBeneath && kernelFeatures().lowerdirPlus;

function stack(s: Scratch, name: string, target: string, lower: string[]): StackDeclaration {
  const [upper, work] = s.mkdirs(`${name}/upper`, `${name}/work`);
  return { name, target, lower, upper: upper!, work: work! };
}

function setup(t: Parameters<typeof scratch>[0]): { s: Scratch; stateFile: string } {
  const s = scratch(t, 'ovl-apply-dep-');
  s.write({ 'v1/version': '1', 'v2/version': '2', 'v1/inner/.keep': '', 'v2/inner/.keep': '', 'own/file': 'own' });
  s.mkdirs('state', 'base-target', 'dep-target', 'outer-target');
  return { s, stateFile: s.path('state/apply.json') };
}

/** Which mount the top mount at `target` sits on (mountinfo's parent id), as a string. */
function parentOf(target: string): string {
  return String(topMount(target)?.parentId ?? '');
}

t.test('a stack on another stack: mounted after its base, rebuilt when the base is upgraded; again: all keep', needsOverlay, async (t) => {
  const { s, stateFile } = setup(t);
  const base = s.path('base-target');
  const dep = s.path('dep-target');
  // The dependent first: the declaration's order must not matter.
  const declare = (v: string): Declaration => ({ stacks: [stack(s, 'dep', dep, [base, s.path('own')]), stack(s, 'base', base, [s.path(v)])] });
  const first = applySync(declare('v1'), { stateFile });
  t.same(first.actions.map((a) => [a.name, a.action]), [['dep', 'mount'], ['base', 'mount']]);
  t.equal(fs.readFileSync(path.join(dep, 'version'), 'utf8'), '1', 'the dependent sees its base, not the bare directory');
  t.equal(fs.readFileSync(path.join(dep, 'file'), 'utf8'), 'own');
  fs.writeFileSync(path.join(dep, 'mine'), 'written through dep');
  const again = applySync(declare('v1'), { stateFile });
  t.same(again.actions.map((a) => a.action), ['keep', 'keep']);
  if (!canReplace()) {
    t.throws(() => applySync(declare('v2'), { stateFile }), { code: 'ENOSYS' });
    t.equal(fs.readFileSync(path.join(dep, 'version'), 'utf8'), '1', 'nothing changed');
  } else {
    const ids = [String(topMount(base)?.mountId), String(topMount(dep)?.mountId)];
    const upgrade = await apply(declare('v2'), { stateFile });
    t.same(upgrade.actions.map((a) => [a.name, a.action]), [['dep', 'replace'], ['base', 'replace']]);
    t.match(upgrade.actions[0]?.reason, /built on 'base', which is replaced/);
    t.equal(fs.readFileSync(path.join(base, 'version'), 'utf8'), '2');
    t.equal(fs.readFileSync(path.join(dep, 'version'), 'utf8'), '2', 'the dependent sees the new base');
    t.equal(fs.readFileSync(path.join(dep, 'mine'), 'utf8'), 'written through dep', 'and kept its upper');
    t.notSame([String(topMount(base)?.mountId), String(topMount(dep)?.mountId)], ids);
    t.same([mountsAt(base).length, mountsAt(dep).length], [1, 1], 'one mount on each target');
    t.same(applySync(declare('v2'), { stateFile }).actions.map((a) => a.action), ['keep', 'keep'], 'a second apply keeps both');
  }
  const none = applySync({ stacks: [] }, { stateFile });
  t.same(none.actions.map((a) => [a.name, a.action]), [['dep', 'unmount'], ['base', 'unmount']]);
  t.same([mountsAt(base).length, mountsAt(dep).length], [0, 0]);
  t.same(fs.readdirSync(s.path('dep/work')), [], 'no work generation left');
});

t.test('a target inside another stack: mounted on it, taken along and mounted again when it is replaced, unmounted first', needsOverlay, async (t) => {
  const { s, stateFile } = setup(t);
  const outer = s.path('outer-target');
  const inner = path.join(outer, 'inner');
  t.notOk(fs.existsSync(inner), 'the inner target exists only in the outer stack');
  const declare = (v: string): Declaration => ({ stacks: [stack(s, 'inner', inner, [s.path('own'), s.path('v1')]), stack(s, 'outer', outer, [s.path(v)])] });
  const first = applySync(declare('v1'), { stateFile });
  t.same(first.actions.map((a) => [a.name, a.action]), [['inner', 'mount'], ['outer', 'mount']]);
  t.equal(parentOf(inner), String(topMount(outer)?.mountId), 'the inner stack is mounted on the outer one');
  t.equal(fs.readFileSync(path.join(inner, 'file'), 'utf8'), 'own');
  fs.writeFileSync(path.join(inner, 'mine'), 'inner upper');
  t.same(applySync(declare('v1'), { stateFile }).actions.map((a) => a.action), ['keep', 'keep']);
  if (canReplace()) {
    const r = applySync(declare('v2'), { stateFile });
    t.same(r.actions.map((a) => [a.name, a.action]), [['inner', 'replace'], ['outer', 'replace']], 'the inner stack is reported, not kept');
    t.match(r.actions[0]?.reason, /target lies in 'outer', which is replaced/);
    t.equal(fs.readFileSync(path.join(outer, 'version'), 'utf8'), '2');
    t.equal(parentOf(inner), String(topMount(outer)?.mountId), 'the inner stack is on the new outer one');
    t.equal(fs.readFileSync(path.join(inner, 'mine'), 'utf8'), 'inner upper', 'with its upper');
    t.same(fs.readdirSync(s.path('inner/work')), ['g2'], 'its old work generation removed');
    const again = applySync(declare('v2'), { stateFile });
    t.same(again.actions.map((a) => a.action), ['keep', 'keep']);
  }
  const none = applySync({ stacks: [] }, { stateFile });
  t.same(none.actions.map((a) => [a.name, a.action]), [['inner', 'unmount'], ['outer', 'unmount']]);
  t.same(mountsAt(outer), [], 'both gone');
  t.same(JSON.parse(fs.readFileSync(stateFile, 'utf8')).stacks, [], 'the record is empty');
  t.same([fs.readdirSync(s.path('inner/work')), fs.readdirSync(s.path('outer/work'))], [[], []]);
});

t.test('refused before anything changes: an inner target missing from the outer stack, a cycle', needsOverlay, async (t) => {
  const { s, stateFile } = setup(t);
  const outer = s.path('outer-target');
  const missing = { stacks: [stack(s, 'outer', outer, [s.path('v1')]), stack(s, 'inner', path.join(outer, 'nope'), [s.path('own'), s.path('v1')])] };
  t.throws(() => applySync(missing, { stateFile }), { code: 'ENOENT', field: 'stacks[1].target', message: /stack 'inner'.*merged view of stack 'outer'/ });
  t.same(mountsAt(outer), [], 'the outer stack was not mounted');
  t.same(fs.readdirSync(s.path('outer/work')), [], 'no work generation left');
  const [a, b] = s.mkdirs('a-target', 'b-target');
  const cycle = { stacks: [stack(s, 'a', a!, [b!, s.path('v1')]), stack(s, 'b', b!, [a!, s.path('v1')])] };
  t.throws(() => applySync(cycle, { stateFile }), { code: 'ELOOP', field: 'stacks', message: /'a' -> 'b' -> 'a'/ });
  t.same([mountsAt(a!), mountsAt(b!)], [[], []]);
  t.notOk(fs.existsSync(stateFile), 'no record written');
});

t.test('relative paths resolve against `base`, not the working directory', needsOverlay, async (t) => {
  const { s, stateFile } = setup(t);
  const declaration = { stacks: [{ name: 'rel', target: 'base-target', lower: ['v1', 'own'] }] };
  const r = applySync(declaration, { stateFile, base: s.path('.') });
  t.same(r.actions.map((a) => [a.target, a.action]), [[s.path('base-target'), 'mount']]);
  t.equal(listMountsSync().find((m) => m.target === s.path('base-target'))?.lower[0], s.path('v1'));
  t.same(applySync(declaration, { stateFile, base: s.path('.') }).actions.map((a) => a.action), ['keep']);
  applySync({ stacks: [] }, { stateFile });
  t.throws(() => applySync({ stacks: [] }, { stateFile, base: 3 as unknown as string }), { name: /Error/, field: 'base' });
});
