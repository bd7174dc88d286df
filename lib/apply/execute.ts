// Carries a plan out, phase by phase (lib/apply/plan/depends.ts): a stack built on
// another can only be built once that one is switched in. Within a phase,
// all or nothing up to its switch: a new work generation for every stack
// that gets one, every new stack built detached, and only when all are
// built, the switch of the phase's targets in one native call. A failure
// before phase 0's switch closes every detached mount, removes the new
// generations and changes nothing; a failure in a later phase leaves the
// earlier phases done and recorded (docs/api.md, 'What can fail after the first switch').
import fs from 'node:fs';
import path from 'node:path';
import type { OverlayMountInfo } from '../inspect/mountinfo';
import { step, type Walk } from '../core/sync-or-async';
import { explainBusyLayer } from '../inspect/busy-layers';
import { invalid } from '../core/errors';
import { inStack } from './plan/declaration';
import { mountInPlace } from './mount-in-place';
import { newEntry, settleOutcome, type ApplyAction, type Done, type Move } from './outcome';
import type { MountSeen, PlannedAction } from './plan/plan';
import type { ApplyRecord, RecordedStack } from './record';
import { buildAllStep, identityStep, mountsStep, switchStep, type SwitchRequest } from './steps';
import { generationDir, makeGeneration, nextGeneration, removeGeneration } from './work-dirs';

export type { ApplyAction } from './outcome';

/** New generations for the stacks of a phase; removed again on a failure before its switch. */
function giveWorkDirectories(moves: Move[], made: string[]): void {
  for (const m of moves) {
    const work = m.action.stack?.request.work;
    if (work === undefined) continue;
    try {
      m.generation = nextGeneration(work, m.action.recorded?.generation ?? 0);
      const dir = generationDir(work, m.generation);
      makeGeneration(dir);
      made.push(dir);
      m.request = { ...m.request, work: dir };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw inStack(Object.assign(e, { field: 'work' }), m.action.stack!.index, m.action.name);
    }
  }
}

function closeAll(moves: Move[]): void {
  for (const m of moves) {
    if (m.fd >= 0) fs.closeSync(m.fd);
    m.fd = -1;
  }
}

/** Builds every stack detached; the first failure closes them all and is thrown, aimed at its stack. */
function* buildAll(moves: Move[]): Walk<void> {
  const outcomes = yield* step(buildAllStep(moves.map((m) => m.request)));
  outcomes.forEach((o, i) => {
    if ('built' in o) Object.assign(moves[i] as Move, { fd: o.built.fd, warnings: o.built.warnings, mountId: o.built.mountId, uniqueId: o.built.uniqueMountId });
  });
  const failed = outcomes.findIndex((o) => 'error' in o);
  if (failed >= 0) {
    closeAll(moves);
    const m = moves[failed] as Move;
    // As mount() says it: an upper or work another overlay holds (index=on) is named with that overlay.
    throw inStack(explainBusyLayer((outcomes[failed] as { error: unknown }).error, m.request), m.action.stack!.index, m.action.name);
  }
}

function missingInside(inner: PlannedAction, outer: PlannedAction, errno: number): unknown {
  const reason = `'${inner.target}' is not a directory in the merged view of stack '${outer.name}' (its target '${outer.target}'): a stack mounted inside another needs its target to exist in that stack's layers`;
  return inStack(invalid('target', reason, errno, inner.target), inner.stack!.index, inner.name);
}

/**
 * Before a phase's switch: every stack whose target lies in a stack built in
 * this phase finds its target in the built (still detached) stack, so a
 * missing inner target is refused while the outer stack is not in place yet.
 */
function checkInnerTargets(built: Move[], all: PlannedAction[]): void {
  for (const m of built) {
    for (const inner of all) {
      if (inner.inside !== m.action || inner.stack === undefined || inner.action === 'keep' || inner.action === 'unmount') continue;
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(path.join(`/proc/self/fd/${m.fd}`, path.relative(m.action.target, inner.target)));
      } catch (err) {
        throw missingInside(inner, m.action, -((err as NodeJS.ErrnoException).errno ?? -2));
      }
      if (!st.isDirectory()) throw missingInside(inner, m.action, 20 /* ENOTDIR */);
    }
  }
}

/**
 * Without detached builds (before 6.8) an outer stack is mounted before its
 * inner ones can be looked at: so, before anything changes, every inner
 * target must be a directory in one of the outer stack's directory layers
 * (its upper or a lower). Layers from image files cannot be looked into
 * without mounting them: with one of those the mount itself decides.
 */
function checkInnerTargetsInLayers(all: PlannedAction[]): void {
  for (const inner of all) {
    const outer = inner.inside;
    if (inner.stack === undefined || outer?.stack === undefined || inner.action === 'keep' || inner.action === 'unmount' || outer.action === 'keep') continue;
    const r = outer.stack.request;
    if (r.images !== undefined) continue;
    const rel = path.relative(outer.target, inner.target);
    const layers = [...(r.upper !== undefined ? [r.upper] : []), ...r.lower];
    if (!layers.some((layer) => fs.statSync(path.join(layer, rel), { throwIfNoEntry: false })?.isDirectory())) throw missingInside(inner, outer, 2 /* ENOENT */);
  }
}

/** The mount on top of a target now, for a target that an earlier phase changed. */
function* seeNow(a: PlannedAction): Walk<MountSeen> {
  try {
    const [mountId, uniqueId] = yield* step(identityStep(a.target));
    return { mountId, uniqueId };
  } catch (err) {
    if (a.inside) throw missingInside(a, a.inside, -((err as NodeJS.ErrnoException).errno ?? -2));
    throw inStack(Object.assign(err as object, { field: 'target' }), a.stack!.index, a.name);
  }
}

/** Names the stack an unmount was for (it is no longer declared, so it has no index). */
function named(err: unknown, name: string): unknown {
  if (!(err instanceof Error)) return err;
  err.message = `stack '${name}': ${err.message}`;
  return Object.assign(err, { stackName: name });
}

export interface Executed {
  actions: ApplyAction[];
  record: ApplyRecord;
  /** The error that stopped it part-way, aimed at its stack; what was done before it is in `actions` and `record`. */
  error?: unknown;
}

/**
 * Runs `actions` (a plan's, ordered by orderPlan) and returns what was done
 * and the new record. `detached`: whether this kernel builds stacks detached
 * (`lowerdir+`); where it cannot, only mounts and unmounts are planned, and
 * a phase's stacks are mounted the ordinary way, those of the phase
 * unmounted again if a later one fails. `savePending` writes the record with
 * the stacks about to be switched in (or mounted) marked pending, just before
 * each phase's switch (see RecordedStack.pending).
 */
export function* execute(
  actions: PlannedAction[],
  previous: ApplyRecord,
  bootId: string,
  detached: boolean,
  savePending: (record: ApplyRecord) => void,
): Walk<Executed> {
  const moves: Move[] = actions
    .filter((a) => a.action === 'mount' || a.action === 'replace')
    .map((action): Move => ({ action, request: action.stack!.request, fd: -1, warnings: [], mountId: 0, uniqueId: 0 }));
  const done = new Map<PlannedAction, Done>();
  const takenAway = new Map<PlannedAction, Done>();
  const phases = Math.max(0, ...actions.map((a) => Math.max(a.level ?? 0, a.takeAway?.level ?? 0))) + 1;
  let error: unknown;
  let failedAt: PlannedAction | undefined;
  const changed = (): boolean => done.size > 0 || takenAway.size > 0;
  let saved = false;
  if (!detached) checkInnerTargetsInLayers(actions);

  for (let level = 0; level < phases && error === undefined; level++) {
    const phase = moves.filter((m) => (m.action.level ?? 0) === level);
    const made: string[] = [];
    const switches: Array<{ action: PlannedAction; request: SwitchRequest; takeAway: boolean }> = [];
    try {
      giveWorkDirectories(phase, made);
      if (detached) {
        yield* buildAll(phase);
        checkInnerTargets(phase, actions);
      }
      if (phase.length) {
        // Built detached, a stack has its ids already; mounted in place it has none yet (0), and a later
        // call confirms it by its work generation, a directory only this call made (lib/apply/pending.ts).
        const pending = moves.filter((m) => done.has(m.action) || phase.includes(m)).map((m): RecordedStack => {
          const ids = done.get(m.action) ?? m;
          return { ...newEntry(m.action, m, ids.mountId, ids.uniqueId, new Map(), bootId), pending: true };
        });
        savePending({ ...previous, stacks: [...previous.stacks, ...pending] });
        saved = true;
      }
      if (!detached) yield* mountInPlace(phase, done);
      if (detached) {
        for (const m of phase) {
          // A stack taken away first is attached again, not moved beneath anything.
          const mode = m.action.action === 'replace' && !m.action.takeAway ? 1 : 0;
          const expected = m.action.seeAtSwitch || m.action.takeAway ? yield* seeNow(m.action) : m.action.seen;
          switches.push({ action: m.action, takeAway: false, request: { fd: m.fd, target: m.action.target, mode, expected, propagation: m.request.propagation ?? '' } });
        }
      }
    } catch (err) {
      closeAll(phase);
      for (const dir of made) removeGeneration(dir);
      for (const m of phase) delete m.generation;
      if (!changed()) {
        // Mounting in place failed and was undone: the record is put back as it was.
        if (saved) savePending(previous);
        throw err;
      }
      error = err;
      break;
    }
    for (const a of actions) {
      const leaving = a.action === 'unmount' && (a.level ?? 0) === level;
      if (leaving || a.takeAway?.level === level) switches.push({ action: a, takeAway: !leaving, request: { fd: -1, target: a.target, mode: 2, expected: a.seen, propagation: '' } });
    }
    try {
      // Nothing to switch (every stack kept): no native call at all.
      const [steps, switchError] = switches.length ? yield* step(switchStep(switches.map((s) => s.request))) : [[], undefined];
      steps.forEach(([mountId, uniqueId, busy], i) => {
        const s = switches[i] as (typeof switches)[number];
        (s.takeAway ? takenAway : done).set(s.action, { mountId, uniqueId, busy });
      });
      if (switchError !== undefined) {
        const failed = switches[steps.length] as (typeof switches)[number];
        failedAt = failed.action;
        error = failed.action.stack ? inStack(switchError, failed.action.stack.index, failed.action.name) : named(switchError, failed.action.name);
      }
    } finally {
      closeAll(phase);
    }
  }

  // The record from what happened: one more look at mountinfo for the new mounts' options.
  const mounted = moves.some((m) => done.has(m.action));
  const after = new Map(mounted ? (yield* step(mountsStep())).map((m): [number, OverlayMountInfo] => [m.mountId, m]) : []);
  return { ...settleOutcome({ actions, moves, done, takenAway, failedAt, previous, after, bootId }), ...(error !== undefined ? { error } : {}) };
}
