// From a validated declaration, the record and what is mounted now, what
// apply will do to each target and why. Pure: it makes no system call, so a
// dry run and a real run decide alike.
import { invalid } from '../../core/errors';
import type { OverlayMountInfo } from '../../inspect/mountinfo';
import { changedFields, inStack, type ValidStack } from './declaration';
import { overlayView, type ApplyRecord, type RecordedStack } from '../record';

export type ActionKind = 'mount' | 'replace' | 'keep' | 'unmount';

export interface PlannedAction {
  name: string;
  target: string;
  action: ActionKind;
  /** Why, in a few words. */
  reason: string;
  /** The declared stack (mount, replace, keep). */
  stack?: ValidStack;
  /** Its entry in the record (replace, keep, unmount). */
  recorded?: RecordedStack;
  /** The mount on top of the target now: the switch checks it is still there. */
  seen: MountSeen;
  /** The phase of its switch (lib/apply/plan/depends.ts): phase N is built and switched after phase N-1 is switched. */
  level?: number;
  /** A replace done as an unmount in phase `level` of takeAway, then a mount: its target lies in a stack that changes. */
  takeAway?: { level: number };
  /** Its target lies in a stack switched in an earlier phase: it is looked at again just before its own switch. */
  seeAtSwitch?: boolean;
  /** The innermost declared stack whose target holds this one's. */
  inside?: PlannedAction;
}

/** A recorded mount apply will not act on, and why. */
export interface SkippedRecord {
  name: string;
  target: string;
  reason: string;
}

export interface Plan {
  actions: PlannedAction[];
  skipped: SkippedRecord[];
}

/** The mount on top at a target, as planning found it. */
export interface MountSeen {
  mountId: number;
  uniqueId: number;
  /** The overlay mounted right on the target, when the top mount is one. */
  overlay?: OverlayMountInfo;
  /** Why the target could not be looked at. */
  error?: Error;
}

export interface PlanInput {
  stacks: ValidStack[];
  record: ApplyRecord;
  bootId: string;
  /** The mount on top of each declared and recorded target. */
  seen: Map<string, MountSeen>;
  /** Whether this kernel can replace a stack atomically (MOVE_MOUNT_BENEATH and `lowerdir+`); asked only when a replace is needed, since probing the kernel makes mount-API calls a plan of keeps must not. */
  canReplace: () => boolean;
  /** Targets inside another stack's target: one that cannot be looked at yet may appear once that stack is mounted. */
  mayAppear?: Set<string>;
}

/** Why a recorded mount is not (or no longer) apply's own, or undefined when it is. */
export function whyNotOurs(entry: RecordedStack, bootId: string, seen: MountSeen | undefined): string | undefined {
  if (entry.bootId !== bootId) return 'recorded in an earlier boot';
  if (seen === undefined || seen.error) return `the target cannot be looked at (${seen?.error?.message ?? 'not looked up'})`;
  const sameMount = entry.uniqueId !== 0 && seen.uniqueId !== 0 ? entry.uniqueId === seen.uniqueId : entry.mountId === seen.mountId;
  if (!sameMount) return 'the mount apply made is no longer on top of the target (unmounted, or covered or replaced by someone else)';
  if (seen.overlay === undefined || overlayView(seen.overlay) !== entry.overlay) return 'the mount on the target does not show the layers and options apply recorded';
  return undefined;
}

export function makePlan({ stacks, record, bootId, seen, canReplace, mayAppear = new Set() }: PlanInput): Plan {
  const actions: PlannedAction[] = [];
  const skipped: SkippedRecord[] = [];
  const ours = new Map<string, RecordedStack>();
  const stale = new Map<string, string>();
  for (const entry of record.stacks) {
    const why = whyNotOurs(entry, bootId, seen.get(entry.target));
    if (why === undefined) ours.set(entry.target, entry);
    else stale.set(entry.target, why);
    if (why !== undefined) skipped.push({ name: entry.name, target: entry.target, reason: why });
  }
  const declared = new Set<string>();
  for (const stack of stacks) {
    declared.add(stack.target);
    const now = seen.get(stack.target) as MountSeen;
    if (now.error && !(mayAppear.has(stack.target) && (now.error as NodeJS.ErrnoException).code === 'ENOENT')) throw inStack(now.error, stack.index, stack.name);
    const entry = ours.get(stack.target);
    if (entry !== undefined) {
      if (entry.key === stack.key) {
        actions.push({ name: stack.name, target: stack.target, action: 'keep', reason: 'unchanged', stack, recorded: entry, seen: now });
        continue;
      }
      if (!canReplace()) {
        throw invalid(`stacks[${stack.index}]`, `stack '${stack.name}' changed and must be replaced, which needs move_mount with MOVE_MOUNT_BENEATH (Linux 6.5+) and \`lowerdir+\` (6.8+); this kernel lacks them, so nothing was changed`, 38 /* ENOSYS */, stack.target);
      }
      const fields = changedFields(entry.key, stack.request);
      actions.push({ name: stack.name, target: stack.target, action: 'replace', reason: `changed: ${fields.join(', ')}`, stack, recorded: entry, seen: now });
      continue;
    }
    if (now.overlay !== undefined) {
      throw invalid(`stacks[${stack.index}].target`, `stack '${stack.name}': an overlay that apply did not make (or no longer recognises: ${stale.get(stack.target) ?? 'not in its record'}) is mounted on '${stack.target}'; apply never touches it`, 16 /* EBUSY */, stack.target);
    }
    const reason = stale.has(stack.target) ? `not mounted (${stale.get(stack.target)})` : 'not mounted';
    actions.push({ name: stack.name, target: stack.target, action: 'mount', reason, stack, seen: now });
  }
  for (const entry of ours.values()) {
    if (declared.has(entry.target)) continue;
    actions.push({ name: entry.name, target: entry.target, action: 'unmount', reason: 'no longer declared', recorded: entry, seen: seen.get(entry.target) as MountSeen });
  }
  return { actions, skipped };
}
