// The steps of apply that reach the kernel or take long, each in its Sync
// and Promise form (lib/core/sync-or-async.ts), so apply and applySync share one
// algorithm and the Promise form keeps the event loop free while it builds
// and switches.
import fs from 'node:fs';
import { listMounts, listMountsSync, type OverlayMountInfo } from '../inspect/mountinfo';
import { native, type NativeMountRequest, type PackedSwitchResult } from '../core/native';
import { buildStep, type BuiltOverlay } from '../request/native-mount';
import type { Step } from '../core/sync-or-async';
import type { MountSeen } from './plan/plan';

export function mountsStep(): Step<OverlayMountInfo[]> {
  return { sync: () => listMountsSync(), async: () => listMounts() };
}

function realTarget(target: string): string {
  try {
    return fs.realpathSync(target);
  } catch {
    return target;
  }
}

function seen(target: string, [mountId, uniqueId]: [number, number], byId: Map<number, OverlayMountInfo>): MountSeen {
  const top = byId.get(mountId);
  const out: MountSeen = { mountId, uniqueId };
  if (top !== undefined && top.target === realTarget(target)) out.overlay = top;
  return out;
}

/** The mount on top at `target`, and the overlay mounted right there if it is one. Two statx calls: no need to leave the thread. */
export function seeStep(target: string, byId: Map<number, OverlayMountInfo>): Step<MountSeen> {
  const look = (): MountSeen => {
    try {
      const [mountId, uniqueId] = native.mountAt(target);
      return seen(target, [mountId, uniqueId], byId);
    } catch (err) {
      const e = err as Error & { field?: string };
      e.field ??= 'target';
      return { mountId: 0, uniqueId: 0, error: e };
    }
  };
  return { sync: look, async: async () => look() };
}

/** Outcome of building each stack: the overlay, or why it could not be built. */
export type BuildOutcome = { built: BuiltOverlay } | { error: unknown };

/** Builds every request detached; the Promise form builds them side by side on the thread pool. */
export function buildAllStep(requests: NativeMountRequest[]): Step<BuildOutcome[]> {
  return {
    sync: () => {
      const out: BuildOutcome[] = [];
      for (const r of requests) {
        try {
          out.push({ built: buildStep(r).sync() });
        } catch (error) {
          out.push({ error });
          break; // the rest would be closed unused
        }
      }
      return out;
    },
    async: async () => {
      const settled = await Promise.allSettled(requests.map((r) => buildStep(r).async()));
      return settled.map((s): BuildOutcome => (s.status === 'fulfilled' ? { built: s.value } : { error: s.reason }));
    },
  };
}

export interface SwitchRequest {
  fd: number;
  target: string;
  mode: 0 | 1 | 2;
  expected: MountSeen;
  propagation: string;
}

export function switchStep(steps: SwitchRequest[]): Step<PackedSwitchResult> {
  const args: Parameters<typeof native.switchOverlaysSync> = [
    steps.map((s) => s.fd),
    steps.map((s) => s.target),
    steps.map((s) => s.mode),
    steps.flatMap((s) => [s.expected.mountId, s.expected.uniqueId]),
    steps.map((s) => s.propagation),
  ];
  return { sync: () => native.switchOverlaysSync(...args), async: () => native.switchOverlays(...args) };
}

export function identityStep(target: string): Step<[number, number]> {
  const ids = (): [number, number] => {
    const [mountId, uniqueId] = native.mountAt(target);
    return [mountId, uniqueId];
  };
  return { sync: ids, async: async () => ids() };
}
