// apply's two halves where they can fail after the first switch: the native
// switch stops at the first step that fails and says how far it got, and
// the outcome keeps in the record exactly what was done.
import * as fs from 'node:fs';
import t from 'tap';
import { kernelFeatures, mountSync } from '../../lib/index';
import { native } from '../../lib/core/native';
import { buildStep } from '../../lib/request/native-mount';
import { toNativeRequest } from '../../lib/request/mount-request';
import { settleOutcome, type Done, type Move } from '../../lib/apply/outcome';
import type { PlannedAction } from '../../lib/apply/plan/plan';
import type { ApplyRecord, RecordedStack } from '../../lib/apply/record';
import { mountsAt, topMount } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

const needsDetached = {
  get skip(): string | false {
    return needsOverlay.skip || (!kernelFeatures().lowerdirPlus && 'no lowerdir+ (6.8+): nothing is built detached');
  },
};

t.test('the switch stops at a target that changed since the plan; the steps before it stay done', needsDetached, async (t) => {
  const s = scratch(t);
  const [a, b, m0, m1, m2] = s.mkdirs('a', 'b', 'm0', 'm1', 'm2');
  const targets = [m0!, m1!, m2!];
  const built = targets.map((target) => buildStep(toNativeRequest({ lower: [a!, b!], target })).sync());
  const seen = targets.map((target) => native.mountAt(target).slice(0, 2) as [number, number]);
  // m1 changes after the plan looked at it: something else is mounted there.
  const other = mountSync({ lower: [b!, a!], target: m1! });
  const [done, error] = native.switchOverlaysSync(
    built.map((o) => o.fd),
    targets,
    [0, 0, 0],
    seen.flat(),
    ['', '', ''],
  );
  for (const o of built) fs.closeSync(o.fd);
  t.equal(done.length, 1, 'one step done');
  t.same(done[0]?.slice(0, 2), [built[0]?.mountId, built[0]?.uniqueMountId], 'with the ids the detached mount had');
  t.match(error, { code: 'EBUSY', field: 'target', path: m1, message: /not the one the plan saw/ });
  t.equal(String(topMount(m0!)?.mountId), String(built[0]?.mountId), 'the first stack is mounted');
  t.equal(String(topMount(m1!)?.mountId), String(other.mountId), 'the changed target is left alone');
  t.same(mountsAt(m2!), [], 'the third was never attached, and its closed fd freed it');
  other.unmountSync();
  native.switchOverlaysSync([-1], [m0!], [2], done[0] ? [done[0][0], done[0][1]] : [], ['']);
  t.same(mountsAt(m0!), [], 'an unmount step with the right ids unmounts');
});

t.test('after a failed switch the record holds what was done, and the generations follow', async (t) => {
  const s = scratch(t);
  s.mkdirs('w0/g1', 'w0/g2', 'w1/g1', 'w1/g2', 'w2/g1', 'w2/g2');
  const entry = (i: number): RecordedStack => ({ name: `s${i}`, target: `/t${i}`, key: 'old', work: s.path(`w${i}`), generation: 1, mountId: 10 + i, uniqueId: 0, overlay: 'o', bootId: 'b' });
  const action = (i: number): PlannedAction => ({
    name: `s${i}`,
    target: `/t${i}`,
    action: 'replace',
    reason: 'changed: lower',
    recorded: entry(i),
    seen: { mountId: 10 + i, uniqueId: 0 },
    stack: { index: i, name: `s${i}`, target: `/t${i}`, key: 'new', request: { lower: ['/x'], data: [], target: `/t${i}`, upper: '/u', work: s.path(`w${i}`), options: [], readOnly: false, nosuid: false, nodev: false, noexec: false } },
  });
  const actions = [0, 1, 2].map(action);
  const moves: Move[] = actions.map((a) => ({ action: a, request: a.stack!.request, generation: 2, fd: -1, warnings: [], mountId: 0, uniqueId: 0 }));
  const done = new Map<PlannedAction, Done>([[actions[0]!, { mountId: 20, uniqueId: 0, busy: false }]]);
  const previous: ApplyRecord = { version: 1, stacks: [0, 1, 2].map(entry), keptWork: [] };
  const out = settleOutcome({ actions, moves, done, failedAt: actions[1], previous, after: new Map(), bootId: 'b' });
  t.same(out.actions.map((a) => [a.name, a.action, a.mountId]), [['s0', 'replace', 20]], 'only what was done is reported');
  t.same(out.record.stacks.map((e) => [e.name, e.key, e.mountId, e.generation]), [['s0', 'new', 20, 2], ['s1', 'old', 11, 1], ['s2', 'old', 12, 1]], 'the stacks not switched keep their old entries');
  t.same(fs.readdirSync(s.path('w0')), ['g2'], 'done: the old generation removed');
  t.same(fs.readdirSync(s.path('w1')).sort(), ['g1', 'g2'], 'failed: its new generation kept (its stack may be mounted beneath)');
  t.same(fs.readdirSync(s.path('w2')), ['g1'], 'not reached: its new generation removed');
});
