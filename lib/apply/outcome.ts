// After the switch: what happened to each target (the result's actions) and
// the record that says so; the old stacks' work generations removed, or set
// aside when their stacks live on for their users.
import type { OverlayMountInfo } from '../inspect/mountinfo';
import type { NativeMountRequest } from '../core/native';
import type { PlannedAction } from './plan/plan';
import { overlayView, type ApplyRecord, type RecordedStack } from './record';
import { generationDir, removeGeneration } from './work-dirs';

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

/** A stack to be mounted or replaced, as execute carries it through. */
export interface Move {
  action: PlannedAction;
  request: NativeMountRequest;
  generation?: number;
  fd: number;
  warnings: string[];
  /** The detached mount's ids, which it keeps once attached. */
  mountId: number;
  uniqueId: number;
}

/** A switch step done: the new mount's ids, and whether the old stack was still in use. */
export interface Done {
  mountId: number;
  uniqueId: number;
  busy: boolean;
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

export function newEntry(a: PlannedAction, m: Move, mountId: number, uniqueId: number, byId: Map<number, OverlayMountInfo>, bootId: string): RecordedStack {
  const stack = a.stack!;
  const entry: RecordedStack = { name: stack.name, target: stack.target, key: stack.key, mountId, uniqueId, overlay: '', bootId };
  const info = byId.get(mountId);
  if (info !== undefined) entry.overlay = overlayView(info);
  if (stack.request.work !== undefined && m.generation !== undefined) Object.assign(entry, { work: stack.request.work, generation: m.generation });
  return entry;
}

export interface OutcomeInput {
  actions: PlannedAction[];
  moves: Move[];
  done: Map<PlannedAction, Done>;
  /** The take-aways done (lib/apply/plan/depends.ts): the stacks unmounted to be mounted again in a later phase. */
  takenAway?: Map<PlannedAction, Done>;
  /** The switch step that failed, if one did. */
  failedAt: PlannedAction | undefined;
  previous: ApplyRecord;
  /** mountinfo's overlays after the switch, by mount id. */
  after: Map<number, OverlayMountInfo>;
  bootId: string;
}

export function settleOutcome({ actions, moves, done, takenAway = new Map(), failedAt, previous, after, bootId }: OutcomeInput): { actions: ApplyAction[]; record: ApplyRecord } {
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
    const away = takenAway.get(a);
    if (result === undefined && away !== undefined) {
      // Taken away, and not mounted again: it is gone, and the result says so.
      out.action = 'unmount';
      out.reason = `${a.reason}; unmounted, and not mounted again`;
      out.previousMountId = a.recorded!.mountId;
      if (move?.generation !== undefined && a !== failedAt) removeGeneration(generationDir(a.stack!.request.work!, move.generation));
      settleOldWork(out, a, away, record);
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
    if (a.action !== 'mount') settleOldWork(out, a, away ?? result, record);
    results.push(out);
  }
  return { actions: results, record };
}

/** The old stack's work generation goes with it, unless the stack lives on for its users. */
function settleOldWork(out: ApplyAction, a: PlannedAction, gone: Done, record: ApplyRecord): void {
  const oldWork = workOf(a.recorded);
  if (gone.busy) out.stillInUse = true;
  if (oldWork === undefined) return;
  if (gone.busy) record.keptWork.push(oldWork);
  else removeGeneration(oldWork);
}
