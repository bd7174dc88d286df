// One writer per upper, for apply: every stack the plan mounts or replaces
// is checked, before anything is built, against the overlays mounted now
// (lib/inspect/live-writers.ts, as mount() checks) and against the other stacks of
// the declaration, which will be mounted beside it. A stack being replaced
// may hand its own upper on to its new stack (the template update, as
// replace allows) unless either indexes it; a kept stack is not checked at
// all. The declared `work` is compared, not the generation apply makes
// inside it: a generation lies inside it, so sharing the one means sharing
// the other.
import { invalid } from '../../core/errors';
import { identities, identity, liveWriters, mountUsesIndex, refuseHeldDirs, requestUsesIndex, writableDirs, type Holding } from '../../inspect/live-writers';
import type { OverlayMountInfo } from '../../inspect/mountinfo';
import { inStack, type ValidStack } from './declaration';
import type { PlannedAction } from './plan';

const EBUSY = 16;

interface DeclaredDir {
  stack: ValidStack;
  as: 'upper' | 'work';
  path: string;
}

/** The declared uppers and works, by `dev:ino`, and the devices they are on. */
function declaredDirs(stacks: ValidStack[]): { byId: Map<string, DeclaredDir[]>; devices: Set<bigint> } {
  const byId = new Map<string, DeclaredDir[]>();
  const devices = new Set<bigint>();
  for (const stack of stacks) {
    for (const [as, path] of writableDirs(stack.request)) {
      const found = identity(path);
      if (found === undefined) continue;
      byId.set(found.id, [...(byId.get(found.id) ?? []), { stack, as, path }]);
      devices.add(found.dev);
    }
  }
  return { byId, devices };
}

/** Refuses two stacks of one declaration on one upper or work (or one's inside the other's), naming both. */
function refuseWithinDeclaration(moving: PlannedAction[], stacks: ValidStack[]): void {
  const declared = declaredDirs(stacks);
  for (const action of moving) {
    const stack = action.stack as ValidStack;
    for (const [field, dir] of writableDirs(stack.request)) {
      for (const { id, inside } of identities(dir, declared.devices)) {
        const other = (declared.byId.get(id) ?? []).find((d) => d.stack !== stack);
        if (other === undefined) continue;
        const where = inside ? `lies inside '${other.path}', the ${other.as}` : `is the ${other.as} ('${other.path}')`;
        throw inStack(
          invalid(field, `'${dir}' ${where} of stack '${other.stack.name}' (stacks[${other.stack.index}]) of this declaration; two overlays on one directory write over each other: give each stack its own ${field} directory`, EBUSY, dir),
          stack.index,
          stack.name,
        );
      }
    }
  }
}

/** Refuses a stack whose upper or work a mounted overlay uses, but for a replaced stack's own upper. */
function refuseLive(moving: PlannedAction[], mounts: OverlayMountInfo[]): void {
  const writers = liveWriters(mounts);
  if (writers.byId.size === 0) return;
  for (const action of moving) {
    const stack = action.stack as ValidStack;
    const own = action.action === 'replace' ? action.seen.overlay : undefined;
    const isOwn = (held: Holding): boolean => own !== undefined && held.mount.mountId === own.mountId;
    const indexed = own !== undefined && (requestUsesIndex(stack.request.options) || mountUsesIndex(own));
    try {
      refuseHeldDirs(stack.request, {
        writers,
        mayShare: (field, held) => field === 'upper' && held.as === 'upper' && !held.inside && isOwn(held) && !indexed,
        how: (held) => (isOwn(held) ? 'this stack replaces on' : 'mounted on'),
      });
    } catch (err) {
      throw inStack(err, stack.index, stack.name);
    }
  }
}

/**
 * Throws (EBUSY, naming the stack, the field and the other stack) when a
 * stack the plan mounts or replaces would share an upper or work. `mounts`:
 * the overlays apply listed for its plan.
 */
export function refuseSharedWriters(actions: PlannedAction[], mounts: OverlayMountInfo[]): void {
  const moving = actions.filter((a) => a.action === 'mount' || a.action === 'replace');
  if (moving.length === 0) return;
  refuseWithinDeclaration(
    moving,
    actions.flatMap((a) => (a.stack ? [a.stack] : [])),
  );
  refuseLive(moving, mounts);
}
