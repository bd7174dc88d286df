// What `replace` keeps from, and must not share with, the stack it replaces.
// - Propagation: the new mount is attached beneath the old one, so it takes
//   its parent's (a shared parent makes it shared); unless the caller says
//   otherwise it gets the old mount's instead. A slave cannot be copied (its
//   master is the old mount's peer group, which a new mount cannot join), so
//   that case is refused until the caller chooses.
// - Upper and work: both stacks are mounted for a moment. An upper or work
//   any mounted overlay uses is refused, as by mount (lib/inspect/live-writers.ts),
//   but for one sharing: the old stack's upper is the documented template
//   update, except with `index=on`, where the kernel refuses (a bare EBUSY).
// - Mounts inside the old stack: refused (replace-submounts.ts), since they
//   would be detached with it.
import fs from 'node:fs';
import { invalid } from '../core/errors';
import { liveWriters, mountUsesIndex, refuseHeldDirs, requestUsesIndex, type Holding } from '../inspect/live-writers';
import type { Propagation } from '../core/mount-words';
import { mountTableTextStep } from '../core/mount-table';
import { parseMountinfo, type OverlayMountInfo } from '../inspect/mountinfo';
import type { NativeMountRequest } from '../core/native';
import { step, type Step, type Walk } from '../core/sync-or-async';
import { refuseMountsInside } from './replace-submounts';

const EINVAL = 22;

/** The overlay on top at the target: the one no other overlay there is mounted on (mountinfo's order says nothing once mounts went beneath). */
function topOf(stack: OverlayMountInfo[]): OverlayMountInfo | undefined {
  return stack.find((m) => !stack.some((other) => other.parentId === m.mountId));
}

/** mountinfo's escapes of a path: space, tab, newline and backslash as `\ooo`. */
function escapedAsMountinfo(p: string): string {
  return p.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

/**
 * The overlays mounted on `target` (its real path, as mountinfo names it).
 * Only the lines naming it are parsed: a replace should not pay for decoding
 * every overlay of the namespace.
 */
function overlaysOn(target: string, text: string): OverlayMountInfo[] {
  const needle = ` ${escapedAsMountinfo(target)} `;
  const lines = text.split('\n').filter((line) => line.includes(needle));
  return parseMountinfo(lines.join('\n')).filter((m) => m.target === target);
}

/** The stack on `target`, and the mountinfo text it was read from (for the check of its layers). */
function stackOn(target: string): Step<[OverlayMountInfo[], string]> {
  return {
    sync: () => {
      const text = mountTableTextStep.sync();
      return [overlaysOn(realOrAsIs(() => fs.realpathSync(target), target), text), text];
    },
    async: async () => {
      const real = await fs.promises.realpath(target).catch(() => target);
      const text = await mountTableTextStep.async();
      return [overlaysOn(real, text), text];
    },
  };
}

function realOrAsIs(real: () => string, p: string): string {
  try {
    return real();
  } catch {
    return p;
  }
}

/**
 * Refuses an upper or work another overlay uses (lib/inspect/live-writers.ts), except
 * the template update: the stack being replaced may hand its upper on, as
 * long as neither stack indexes it.
 */
function refuseSharedLayers(request: NativeMountRequest, old: OverlayMountInfo, mountinfo: string): void {
  const indexed = requestUsesIndex(request.options) || mountUsesIndex(old);
  const isOld = (held: Holding): boolean => held.mount.mountId === old.mountId;
  refuseHeldDirs(request, {
    writers: liveWriters(mountinfo),
    mayShare: (field, held) => field === 'upper' && held.as === 'upper' && !held.inside && isOld(held) && !indexed,
    how: (held) => (isOld(held) ? 'being replaced on' : 'mounted on'),
  });
}

function keptPropagation(old: OverlayMountInfo): Propagation {
  if (old.propagation !== 'slave') return old.propagation;
  throw invalid(
    'propagation',
    `the overlay on '${old.target}' is a slave (of peer group ${old.master}), which a new mount cannot be made again: ` +
      "pass propagation ('private', 'shared', 'slave' or 'unbindable') to choose the new stack's",
    EINVAL,
  );
}

/**
 * Checks the request against the stack live on its target and fills in the
 * old mount's propagation when none is asked for. A target with no overlay
 * is left to the addon, which refuses it.
 */
export function* againstLiveStack(request: NativeMountRequest): Walk<NativeMountRequest> {
  const [stack, mountinfo] = yield* step(stackOn(request.target));
  const old = topOf(stack);
  if (old === undefined) return request;
  refuseSharedLayers(request, old, mountinfo);
  refuseMountsInside(old, mountinfo);
  // Set in place: a spread copy would give the packed request a new shape on every call.
  if (request.propagation === undefined) request.propagation = keptPropagation(old);
  return request;
}
