// One writer per upper, for apply: two stacks of one declaration on one
// upper or work are refused naming both; a stack on a mounted overlay's upper
// or work is refused naming that overlay; an upgrade keeps its own upper. A
// refusal changes nothing: no mount, no work generation, no record.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { apply, applySync, kernelFeatures, mountSync, type StackDeclaration } from '../../lib/index';
import { mountsAt, unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

const needsReplace = {
  get skip(): string | false {
    return needsOverlay.skip || (!(kernelFeatures().moveMountBeneath && kernelFeatures().lowerdirPlus) && 'no MOVE_MOUNT_BENEATH (6.5+) with lowerdir+ (6.8+)');
  },
};

function stack(s: Scratch, name: string, dirs: { upper: string; work: string }, template = 'v1'): StackDeclaration {
  const target = s.mkdirs(`${name}/merged`)[0] as string;
  return { name, target, lower: [s.path(template)], upper: s.path(dirs.upper), work: s.path(dirs.work) };
}

t.test('two stacks of one declaration sharing an upper or work: refused naming both, nothing done', needsOverlay, async (t) => {
  const s = scratch(t, 'ovl-apply-');
  s.write({ 'v1/version': '1' });
  s.mkdirs('u1', 'w1', 'u2', 'w2');
  const stateFile = s.path('state.json');
  const cases: Array<[string, StackDeclaration[], string, RegExp]> = [
    ['one upper', [stack(s, 'a', { upper: 'u1', work: 'w1' }), stack(s, 'b', { upper: 'u1', work: 'w2' })], 'stacks[0].upper', /stack 'a' \(stacks\[0\]\).*is the upper .* of stack 'b' \(stacks\[1\]\)/],
    ['one work', [stack(s, 'a', { upper: 'u1', work: 'w1' }), stack(s, 'b', { upper: 'u2', work: 'w1' })], 'stacks[0].work', /is the work .* of stack 'b'/],
    ["one's upper as the other's work", [stack(s, 'a', { upper: 'u1', work: 'w1' }), stack(s, 'b', { upper: 'w1', work: 'w2' })], 'stacks[0].work', /is the upper .* of stack 'b'/],
  ];
  for (const [what, stacks, field, message] of cases) {
    t.throws(() => applySync({ stacks }, { stateFile }), { code: 'EBUSY', field, message }, what);
    await t.rejects(apply({ stacks }, { stateFile }), { code: 'EBUSY', field }, `${what}, Promise form`);
    t.throws(() => applySync({ stacks }, { stateFile, dryRun: true }), { code: 'EBUSY', field }, `${what}, a dry run too`);
  }
  for (const name of ['a', 'b']) t.same(mountsAt(s.path(`${name}/merged`)), [], `nothing mounted on ${name}`);
  for (const dir of ['w1', 'w2']) t.same(fs.readdirSync(s.path(dir)), [], `no work generation in ${dir}`);
  t.notOk(fs.existsSync(stateFile), 'no record written');
});

t.test("a stack on a mounted overlay's upper or work: refused naming that overlay", needsOverlay, async (t) => {
  const s = scratch(t, 'ovl-apply-');
  s.write({ 'v1/version': '1' });
  const [upper, work, foreign] = s.mkdirs('fu', 'fw', 'foreign');
  s.mkdirs('w2', 'u2');
  const other = unmountAtEnd(t, mountSync({ lower: [s.path('v1')], upper: upper!, work: work!, target: foreign! }));
  const stateFile = s.path('state.json');
  const message = new RegExp(`overlay mounted on '${foreign}' \\(mount id ${other.mountId}\\)`);
  t.throws(() => applySync({ stacks: [stack(s, 'a', { upper: 'fu', work: 'w2' })] }, { stateFile }), { code: 'EBUSY', field: 'stacks[0].upper', stackName: 'a', message });
  await t.rejects(apply({ stacks: [stack(s, 'a', { upper: 'u2', work: 'fw' })] }, { stateFile }), { code: 'EBUSY', field: 'stacks[0].work', message });
  t.same(mountsAt(s.path('a/merged')), []);
  t.same(fs.readdirSync(s.path('w2')), [], 'no work generation made');
});

t.test('an upgrade keeps its own upper; a kept stack is not checked against itself; a new one on its upper is refused', needsReplace, async (t) => {
  const s = scratch(t, 'ovl-apply-');
  s.write({ 'v1/version': '1', 'v2/version': '2' });
  s.mkdirs('u1', 'w1', 'u2', 'w2', 'u3', 'w3');
  const stateFile = s.path('state.json');
  const a = stack(s, 'a', { upper: 'u1', work: 'w1' });
  const b = stack(s, 'b', { upper: 'u2', work: 'w2' });
  t.same(applySync({ stacks: [a, b] }, { stateFile }).actions.map((x) => x.action), ['mount', 'mount']);
  fs.writeFileSync(path.join(a.target, 'mine'), 'kept');
  const upgraded = await apply({ stacks: [{ ...a, lower: [s.path('v2')] }, b] }, { stateFile });
  t.same(upgraded.actions.map((x) => x.action), ['replace', 'keep'], 'the replace keeps its upper; b keeps');
  t.equal(fs.readFileSync(path.join(a.target, 'version'), 'utf8'), '2');
  t.equal(fs.readFileSync(path.join(a.target, 'mine'), 'utf8'), 'kept', "the upper's files are in the new stack");
  const c = stack(s, 'c', { upper: 'u3', work: 'w3' });
  t.same(applySync({ stacks: [{ ...a, lower: [s.path('v2')] }, b, c] }, { stateFile }).actions.map((x) => x.action), ['keep', 'keep', 'mount']);
  // A stack declared with the upper a kept stack uses: refused by the declaration (both named) before the live check.
  const d = stack(s, 'd', { upper: 'u2', work: 'w3' });
  t.throws(() => applySync({ stacks: [{ ...a, lower: [s.path('v2')] }, b, c, d] }, { stateFile }), { code: 'EBUSY', field: 'stacks[3].upper', message: /of stack 'b'/ });
  // The same upper through another state file (another declaration): the live stack is named.
  t.throws(() => applySync({ stacks: [d] }, { stateFile: s.path('other.json') }), { code: 'EBUSY', field: 'stacks[0].upper', message: new RegExp(`overlay mounted on '${b.target}'`) });
  t.same(mountsAt(d.target), []);
  // With index=on the kernel would refuse the shared upper: so does the upgrade.
  t.throws(() => applySync({ stacks: [{ ...a, lower: [s.path('v2')] }, b, { ...c, lower: [s.path('v2')], index: true }] }, { stateFile }), {
    code: 'EBUSY',
    field: 'stacks[2].upper',
    message: /index=on/,
  });
  t.same(applySync({ stacks: [] }, { stateFile }).actions.map((x) => x.action), ['unmount', 'unmount', 'unmount']);
});
