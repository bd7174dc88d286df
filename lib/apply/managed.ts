// Which mounts apply manages now: the record's entries that still match the
// mount on their target (the same checks apply makes before acting).
import type { OverlayMountInfo } from '../inspect/mountinfo';
import { step, type Walk } from '../core/sync-or-async';
import { settlePending } from './pending';
import { whyNotOurs, type MountSeen } from './plan/plan';
import { bootIdSync, parseRecord, readRecordTextSync, stateFilePath } from './record';
import { mountsStep, seeStep } from './steps';

export interface AppliedStack {
  name: string;
  target: string;
  mountId: number;
}

export function* appliedWalk(stateFileOption: unknown): Walk<AppliedStack[]> {
  const stateFile = stateFilePath(stateFileOption);
  const record = parseRecord(readRecordTextSync(stateFile), stateFile);
  if (record.stacks.length === 0) return [];
  const bootId = bootIdSync();
  const byId = new Map((yield* step(mountsStep())).map((m): [number, OverlayMountInfo] => [m.mountId, m]));
  const seen = new Map<string, MountSeen>();
  for (const entry of record.stacks) seen.set(entry.target, yield* step(seeStep(entry.target, byId)));
  const settled = settlePending(record, bootId, seen);
  return settled.stacks
    .filter((entry) => whyNotOurs(entry, bootId, seen.get(entry.target)) === undefined)
    .map((entry) => ({ name: entry.name, target: entry.target, mountId: entry.mountId }));
}
