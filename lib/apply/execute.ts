// Carries a plan out, all or nothing up to the first switch: a new work
// generation for every stack that gets one, then every new stack built
// detached, and only when all are built, the switch of every target in one
// native call. A failure before the switch closes every detached mount,
// removes the new generations and changes nothing; see the README for what
// can still fail after the first switch.
import * as fs from 'node:fs';
import type { OverlayMountInfo } from '../mountinfo';
import type { NativeMountRequest } from '../native';
import { step, type Walk } from '../sync-or-async';
import { umountSync } from '../umount';
import { inStack } from './declaration';
import type { PlannedAction } from './plan';
import { overlayView, type ApplyRecord, type RecordedStack } from './record';
import { buildAllStep, identityStep, mountsStep, mountStep, switchStep, type SwitchRequest } from './steps';
import { generationDir, makeGeneration, nextGeneration, removeGeneration } from './work-dirs';

/** What happened to one target. */
export interface ApplyAction {
  name: string;
  target: string;
  action: PlannedAction['action'];
  reason: string;
  /** The mount on the target afterwards (mount, replace, keep). */
  mountId?: number;
  /** The mount it replaced or unmounted. */
  previousMountId?: number;
  /** The work directory the mounted stack uses (`<work>/g<N>`). */
  work?: string;
  /** The kernel's non-fatal messages while building the new stack. */
  warnings?: string[];
  /** The old stack was still in use (open files, a process inside): it was detached and lives on for its users; its work directory is kept. */
  stillInUse?: boolean;
}

interface Move {
  action: PlannedAction;
  request: NativeMountRequest;
  generation?: number;
  fd: number;
  warnings: string[];
  /** The detached mount's ids, which it keeps once attached. */
  mountId: number;
  uniqueId: number;
}

function workOf(entry: RecordedStack | undefined): string | undefined {
  return entry?.work !== undefined && entry.generation !== undefined ? generationDir(entry.work, entry.generation) : undefined;
}

function describe(a: PlannedAction): ApplyAction {
  const out: ApplyAction = { name: a.name, target: a.target, action: a.action, reason: a.reason };
  if (a.action === 'keep' && a.recorded) {
    out.mountId = a.recorded.mountId;
    const work = workOf(a.recorded);
    if (work !== undefined) out.work = work;
  }
  return out;
}

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
    if ('built' in o) Object.assign(moves[i] as Move, { fd: o.built.fd, warnings: o.built.warnings, mountId: o.built.mountId, uniqueId: o.built.uniqueId });
  });
  const failed = outcomes.findIndex((o) => 'error' in o);
  if (failed >= 0) {
    closeAll(moves);
    const m = moves[failed] as Move;
    throw inStack((outcomes[failed] as { error: unknown }).error, m.action.stack!.index, m.action.name);
  }
}

export interface Executed {
  actions: ApplyAction[];
  record: ApplyRecord;
  /** The error that stopped the switch part-way, aimed at its stack; what was done before it is in `actions` and `record`. */
  error?: unknown;
}

function newEntry(a: PlannedAction, m: Move, mountId: number, uniqueId: number, byId: Map<number, OverlayMountInfo>, bootId: string): RecordedStack {
  const stack = a.stack!;
  const entry: RecordedStack = { name: stack.name, target: stack.target, key: stack.key, mountId, uniqueId, overlay: '', bootId };
  const info = byId.get(mountId);
  if (info !== undefined) entry.overlay = overlayView(info);
  if (stack.request.work !== undefined && m.generation !== undefined) Object.assign(entry, { work: stack.request.work, generation: m.generation });
  return entry;
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
  const done = new Map<PlannedAction, { mountId: number; uniqueId: number; busy: boolean }>();
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
    const [steps, switchError] = yield* step(switchStep(switches.map((s) => s.request)));
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
  const after = new Map((yield* step(mountsStep())).map((m): [number, OverlayMountInfo] => [m.mountId, m]));
  const record: ApplyRecord = { version: 1, stacks: [], keptWork: [...previous.keptWork] };
  const results: ApplyAction[] = [];
  for (const a of actions) {
    const out = describe(a);
    const result = done.get(a);
    const move = moves.find((m) => m.action === a);
    if (a.action === 'keep') {
      record.stacks.push({ ...a.recorded!, name: a.name });
      results.push(out);
      continue;
    }
    if (result === undefined) {
      // Not reached, or the step that failed: a replace's old stack and an unmount's stack are still there.
      if (a.recorded) record.stacks.push(a.recorded);
      // The failed step's generation stays: a replace that failed after moving beneath left its stack mounted there.
      if (move?.generation !== undefined && a !== failedAt) removeGeneration(generationDir(a.stack!.request.work!, move.generation));
      continue;
    }
    if (a.action === 'unmount') {
      out.previousMountId = a.recorded!.mountId;
    } else {
      record.stacks.push(newEntry(a, move!, result.mountId, result.uniqueId, after, bootId));
      out.mountId = result.mountId;
      if (move?.generation !== undefined) out.work = generationDir(a.stack!.request.work!, move.generation);
      if (a.action === 'replace') out.previousMountId = a.recorded!.mountId;
      if (move && move.warnings.length) out.warnings = move.warnings;
    }
    // The old stack's work generation goes with it, unless the stack lives on for its users.
    const oldWork = a.action === 'mount' ? undefined : workOf(a.recorded);
    if (result.busy) out.stillInUse = true;
    if (oldWork !== undefined) {
      if (result.busy) record.keptWork.push(oldWork);
      else removeGeneration(oldWork);
    }
    results.push(out);
  }
  return { actions: results, record, ...(error !== undefined ? { error } : {}) };
}

/** Without `lowerdir+`: each stack mounted in turn; a failure unmounts those this call mounted. */
function* mountInPlace(moves: Move[], done: Map<PlannedAction, { mountId: number; uniqueId: number; busy: boolean }>): Walk<void> {
  const mounted: Move[] = [];
  try {
    for (const m of moves) {
      try {
        m.warnings = (yield* step(mountStep(m.request))).warnings;
      } catch (err) {
        throw inStack(err, m.action.stack!.index, m.action.name);
      }
      mounted.push(m);
      const [mountId, uniqueId] = yield* step(identityStep(m.action.target));
      done.set(m.action, { mountId, uniqueId, busy: false });
    }
  } catch (err) {
    for (const m of mounted.reverse()) {
      yield* step({ sync: () => undoMount(m), async: async () => undoMount(m) });
      done.delete(m.action);
    }
    throw err;
  }
}

function undoMount(m: Move): void {
  umountSync(m.action.target);
}
