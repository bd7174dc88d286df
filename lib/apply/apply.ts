// apply(): bring this host's overlays to what a declaration says, in one
// call: mount what is missing, replace what changed (atomically, keeping the
// upper), keep what did not change without a single mount system call, and
// unmount what apply mounted earlier and the declaration no longer holds.
// Mounts apply did not make are never touched; see lib/apply/record.ts for
// how it knows its own.
import path from 'node:path';
import { kernelFeatures } from '../inspect/kernel';
import type { OverlayMountInfo } from '../inspect/mountinfo';
import { runAsync, runSync, step, type Walk } from '../core/sync-or-async';
import { checkBoolean, typeError } from '../core/args';
import { validateDeclaration, type Declaration } from './plan/declaration';
import { execute, type ApplyAction } from './execute';
import { lockRecord } from './lock';
import { appliedWalk, type AppliedStack } from './managed';
import { settlePending } from './pending';
import { nestedTargets, orderPlan } from './plan/depends';
import { removeOrphanGenerations, removeStaleRecordTemps } from './orphans';
import { makePlan, type MountSeen, type SkippedRecord } from './plan/plan';
import { bootIdSync, checkStateFile, parseRecord, readRecordTextSync, stateFilePath, writeRecordSync } from './record';
import { refuseSharedWriters } from './plan/shared-writers';
import { refuseForeignMountsInside } from './plan/mounts-inside';
import { mountsStep, seeStep } from './steps';

export type { Declaration, StackDeclaration } from './plan/declaration';
export type { ApplyAction } from './execute';
export type { SkippedRecord } from './plan/plan';
export type { AppliedStack } from './managed';
export { DEFAULT_STATE_FILE, STATE_FILE_ENV } from './record';

export interface ApplyOptions {
  /** Plan only: say what would be done, change nothing (no mount, no directory, no record). */
  dryRun?: boolean;
  /** The record of what apply manages; default OVL_APPLY_STATE, else /run/overlay-native/apply.json. Its directory must exist (only the default one's is made). */
  stateFile?: string;
  /** The directory relative paths in the declaration resolve against; default the working directory (`ovl apply FILE` gives FILE's directory). */
  base?: string;
}

export interface ApplyResult {
  dryRun: boolean;
  /** One entry per declared stack and per stack unmounted, in that order. */
  actions: ApplyAction[];
  /** Recorded mounts that are not (or no longer) apply's own: left alone, and dropped from the record. */
  skipped: SkippedRecord[];
  stateFile: string;
}

function checkOptions(options: ApplyOptions): { dryRun: boolean; stateFile: string; base: string } {
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object', options);
  if (options.base !== undefined && (typeof options.base !== 'string' || options.base === '' || options.base.includes('\0'))) throw typeError('base', 'a directory path', options.base);
  return { dryRun: checkBoolean('dryRun', options.dryRun), stateFile: stateFilePath(options.stateFile), base: path.resolve(options.base ?? '.') };
}

function* applyWalk(declaration: Declaration, options: ApplyOptions): Walk<ApplyResult> {
  const { dryRun, stateFile, base } = checkOptions(options);
  const stacks = validateDeclaration(declaration, base);
  checkStateFile(stateFile, !dryRun);
  const release = dryRun ? () => {} : lockRecord(stateFile);
  try {
    const recorded = parseRecord(readRecordTextSync(stateFile), stateFile);
    const bootId = bootIdSync();
    const byId = new Map((yield* step(mountsStep())).map((m): [number, OverlayMountInfo] => [m.mountId, m]));
    const seen = new Map<string, MountSeen>();
    for (const target of new Set([...stacks.map((s) => s.target), ...recorded.stacks.map((e) => e.target)])) {
      seen.set(target, yield* step(seeStep(target, byId)));
    }
    const record = settlePending(recorded, bootId, seen);
    const canReplace = (): boolean => kernelFeatures().moveMountBeneath && kernelFeatures().lowerdirPlus;
    const mayAppear = nestedTargets([...seen.keys()]);
    const plan = makePlan({ stacks, record, bootId, seen, canReplace, mayAppear });
    orderPlan(plan.actions, canReplace);
    refuseSharedWriters(plan.actions, [...byId.values()]);
    refuseForeignMountsInside(plan.actions, seen.keys());
    if (dryRun) {
      const actions = plan.actions.map(({ name, target, action, reason, recorded }): ApplyAction => ({
        name,
        target,
        action,
        reason,
        ...(recorded && action !== 'mount' ? { previousMountId: recorded.mountId } : {}),
      }));
      return { dryRun, actions, skipped: plan.skipped, stateFile };
    }
    removeStaleRecordTemps(stateFile);
    const workDirs = [...stacks.flatMap((st) => (st.request.work !== undefined ? [st.request.work] : [])), ...record.stacks.flatMap((e) => (e.work !== undefined ? [e.work] : []))];
    removeOrphanGenerations(workDirs, record, byId.values());
    const building = plan.actions.some((a) => a.action === 'mount' || a.action === 'replace');
    const done = yield* execute(plan.actions, record, bootId, building && kernelFeatures().lowerdirPlus, (pending) => writeRecordSync(stateFile, pending));
    writeRecordSync(stateFile, done.record);
    if (done.error !== undefined) throw Object.assign(done.error as object, { actions: done.actions });
    return { dryRun, actions: done.actions, skipped: plan.skipped, stateFile };
  } finally {
    release();
  }
}

/**
 * Brings the overlays to what `declaration` says (`{ stacks: [{ name, target,
 * lower, upper, work, ...any option of mount() }] }`). Every stack is checked
 * and every new one built detached before any target changes; a failure up
 * to then changes nothing. Stacks built on other stacks are built once those
 * are switched in (phases; see docs/api.md, `apply`). Relative paths resolve against
 * `options.base`, else the working directory. Resolves to what was done to
 * each target and why.
 */
export function apply(declaration: Declaration, options: ApplyOptions = {}): Promise<ApplyResult> {
  return runAsync(applyWalk(declaration, options));
}

/** Synchronous twin of {@link apply}. */
export function applySync(declaration: Declaration, options: ApplyOptions = {}): ApplyResult {
  return runSync(applyWalk(declaration, options));
}

/** The stacks apply manages now: recorded by it and still the mount on their target. `stateFile` as for apply. */
export function appliedStacks(options: { stateFile?: string } = {}): Promise<AppliedStack[]> {
  return runAsync(appliedWalk(options?.stateFile));
}

/** Synchronous twin of {@link appliedStacks}. */
export function appliedStacksSync(options: { stateFile?: string } = {}): AppliedStack[] {
  return runSync(appliedWalk(options?.stateFile));
}
