// Entries a previous apply wrote just before its switch and never confirmed
// (it was killed in between). Each is settled against what is on its target:
// if the mount there is the one it names (for a stack mounted in place, whose
// ids were not known yet: the overlay there uses its work generation), the switch happened and it becomes
// an ordinary entry (the entry it replaced describes a stack that is gone);
// if not, the switch never happened and it is dropped. The replaced stack's
// work generation is kept aside (that stack may live on, detached, for its
// users); a dropped entry's generation was never mounted beyond the killed
// process, whose detached mount went with it, and is left for
// lib/apply/orphans.ts to remove.
import { generationDir } from './work-dirs';
import type { MountSeen } from './plan/plan';
import { overlayView, type ApplyRecord, type RecordedStack } from './record';

function workOf(entry: RecordedStack): string | undefined {
  return entry.work !== undefined && entry.generation !== undefined ? generationDir(entry.work, entry.generation) : undefined;
}

function switchedIn(entry: RecordedStack, bootId: string, seen: MountSeen | undefined): seen is MountSeen & { overlay: NonNullable<MountSeen['overlay']> } {
  if (entry.bootId !== bootId || seen === undefined || seen.error || seen.overlay === undefined) return false;
  // Mounted in place (no detached build, before 6.8): no ids before the mount, but a work generation only that call made.
  if (entry.mountId === 0) return seen.overlay.work !== undefined && seen.overlay.work === workOf(entry);
  return entry.uniqueId !== 0 && seen.uniqueId !== 0 ? entry.uniqueId === seen.uniqueId : entry.mountId === seen.mountId;
}

export function settlePending(record: ApplyRecord, bootId: string, seen: Map<string, MountSeen>): ApplyRecord {
  if (!record.stacks.some((e) => e.pending)) return record;
  const stacks = record.stacks.filter((e) => !e.pending);
  const keptWork = [...record.keptWork];
  for (const entry of record.stacks.filter((e) => e.pending)) {
    const now = seen.get(entry.target);
    if (switchedIn(entry, bootId, now)) {
      const replaced = stacks.findIndex((e) => e.target === entry.target);
      if (replaced >= 0) {
        const old = workOf(stacks[replaced] as RecordedStack);
        if (old !== undefined) keptWork.push(old);
        stacks.splice(replaced, 1);
      }
      const { pending: _, ...confirmed } = entry;
      stacks.push({ ...confirmed, ...(entry.mountId === 0 ? { mountId: now.mountId, uniqueId: now.uniqueId } : {}), overlay: overlayView(now.overlay) });
    }
  }
  return { ...record, stacks, keptWork };
}
