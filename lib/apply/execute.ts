// Carries a plan out, all or nothing up to the first switch: a new work
// generation for every stack that gets one, then every new stack built
// detached, and only when all are built, the switch of every target in one
// native call. A failure before the switch closes every detached mount,
// removes the new generations and changes nothing; see the README for what
// can still fail after the first switch.
import * as fs from 'node:fs';
import type { OverlayMountInfo } from '../mountinfo';
import { step, type Walk } from '../sync-or-async';
import { explainBusyLayer } from '../busy-layers';
import { inStack } from './declaration';
import { mountInPlace } from './mount-in-place';
import { newEntry, settleOutcome, type ApplyAction, type Done, type Move } from './outcome';
import type { PlannedAction } from './plan';
import type { ApplyRecord, RecordedStack } from './record';
import { buildAllStep, mountsStep, switchStep, type SwitchRequest } from './steps';
import { generationDir, makeGeneration, nextGeneration, removeGeneration } from './work-dirs';

export type { ApplyAction } from './outcome';

/** New generations for the stacks that will be mounted; undone (removed) on any failure before the switch. */
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

export interface Executed {
  actions: ApplyAction[];
  record: ApplyRecord;
  /** The error that stopped the switch part-way, aimed at its stack; what was done before it is in `actions` and `record`. */
  error?: unknown;
}

/**
 * Runs `actions` (a plan's) and returns what was done and the new record.
 * `detached`: whether this kernel builds stacks detached (`lowerdir+`); where
 * it cannot, only mounts and unmounts are planned, and a stack is mounted
 * the ordinary way, those of this call unmounted again if a later one fails.
 * `savePending` writes the record with the stacks about to be switched in
 * marked pending, just before the switch (see RecordedStack.pending).
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
  const leaving = actions.filter((a) => a.action === 'unmount');
  const made: string[] = [];
  const done = new Map<PlannedAction, Done>();
  let error: unknown;
  let failedAt: PlannedAction | undefined;
  try {
    giveWorkDirectories(moves, made);
    if (detached) {
      yield* buildAll(moves);
    } else {
      yield* mountInPlace(moves, done);
    }
  } catch (err) {
    closeAll(moves);
    for (const dir of made) removeGeneration(dir);
    throw err;
  }

  if (detached && moves.length) {
    try {
      const pending = moves.map((m): RecordedStack => ({ ...newEntry(m.action, m, m.mountId, m.uniqueId, new Map(), bootId), pending: true }));
      savePending({ ...previous, stacks: [...previous.stacks, ...pending] });
    } catch (err) {
      closeAll(moves);
      for (const dir of made) removeGeneration(dir);
      throw err;
    }
  }
  const switches: Array<{ action: PlannedAction; request: SwitchRequest }> = [];
  if (detached) {
    for (const m of moves) {
      const mode = m.action.action === 'replace' ? 1 : 0;
      switches.push({ action: m.action, request: { fd: m.fd, target: m.action.target, mode, expected: m.action.seen, propagation: m.request.propagation ?? '' } });
    }
  }
  for (const a of leaving) switches.push({ action: a, request: { fd: -1, target: a.target, mode: 2, expected: a.seen, propagation: '' } });
  try {
    // Nothing to switch (every stack kept): no native call at all.
    const [steps, switchError] = switches.length ? yield* step(switchStep(switches.map((s) => s.request))) : [[], undefined];
    steps.forEach(([mountId, uniqueId, busy], i) => done.set((switches[i] as (typeof switches)[number]).action, { mountId, uniqueId, busy }));
    if (switchError !== undefined) {
      const failed = (switches[steps.length] as (typeof switches)[number]).action;
      failedAt = failed;
      error = failed.stack ? inStack(switchError, failed.stack.index, failed.name) : Object.assign(switchError, { stackName: failed.name });
    }
  } finally {
    closeAll(moves);
  }

  // The record from what happened: one more look at mountinfo for the new mounts' options.
  const mounted = moves.some((m) => done.has(m.action));
  const after = new Map(mounted ? (yield* step(mountsStep())).map((m): [number, OverlayMountInfo] => [m.mountId, m]) : []);
  return { ...settleOutcome({ actions, moves, done, failedAt, previous, after, bootId }), ...(error !== undefined ? { error } : {}) };
}
