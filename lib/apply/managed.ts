// Which mounts apply manages now: the record's entries that still match the
// mount on their target (the same checks apply makes before acting).
import type { OverlayMountInfo } from '../mountinfo';
import { step, type Walk } from '../sync-or-async';
import { whyNotOurs, type MountSeen } from './plan';
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
  const out: AppliedStack[] = [];
  for (const entry of record.stacks) {
    const seen: MountSeen = yield* step(seeStep(entry.target, byId));
    if (whyNotOurs(entry, bootId, seen) === undefined) out.push({ name: entry.name, target: entry.target, mountId: entry.mountId });
  }
  return out;
}
