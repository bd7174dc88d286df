// What `replace` keeps from, and must not share with, the stack it replaces.
// - Propagation: the new mount is attached beneath the old one, so it takes
//   its parent's (a shared parent makes it shared); unless the caller says
//   otherwise it gets the old mount's instead. A slave cannot be copied (its
//   master is the old mount's peer group, which a new mount cannot join), so
//   that case is refused until the caller chooses.
// - Upper and work: both stacks are mounted for a moment. The kernel mounts
//   a second overlay on a work directory in use with only a log line
//   ("undefined behavior"); sharing the upper is the documented template
//   update, except with `index=on`, where the kernel refuses (a bare EBUSY).
//   Both are refused here, naming the field and the mount.
import * as fs from 'node:fs';
import { invalid } from './errors';
import type { Propagation } from './mount-options';
import { MOUNTINFO } from './mount-table';
import { parseMountinfo, type OverlayMountInfo } from './mountinfo';
import type { NativeMountRequest } from './native';
import { step, type Step, type Walk } from './sync-or-async';

const EBUSY = 16;
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

function stackOn(target: string): Step<OverlayMountInfo[]> {
  return {
    sync: () => overlaysOn(realOrAsIs(() => fs.realpathSync(target), target), fs.readFileSync(MOUNTINFO, 'utf8')),
    async: async () => {
      const real = await fs.promises.realpath(target).catch(() => target);
      return overlaysOn(real, await fs.promises.readFile(MOUNTINFO, 'utf8'));
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

/** Device and inode of a directory, or undefined when it cannot be looked at (the mount then reports it). */
function identity(p: string): Step<string | undefined> {
  const id = (st: fs.BigIntStats): string => `${st.dev}:${st.ino}`;
  return {
    sync: () => {
      try {
        return id(fs.statSync(p, { bigint: true }));
      } catch {
        return undefined;
      }
    },
    async: () => fs.promises.stat(p, { bigint: true }).then(id, () => undefined),
  };
}

let indexDefault: boolean | undefined;
/** overlay's `index` default (the module parameter, CONFIG_OVERLAY_FS_INDEX): an option left out means this. */
function indexByDefault(): boolean {
  if (indexDefault === undefined) {
    try {
      indexDefault = fs.readFileSync('/sys/module/overlay/parameters/index', 'utf8').trim() === 'Y';
    } catch {
      indexDefault = false;
    }
  }
  return indexDefault;
}

function usesIndex(options: string[]): boolean {
  if (options.includes('index=on')) return true;
  return !options.includes('index=off') && indexByDefault();
}

function requestUsesIndex(request: NativeMountRequest): boolean {
  const index = request.options.find(([key]) => key === 'index');
  return index ? index[1] === 'on' : indexByDefault();
}

/** The old stack's upper and work, where mountinfo names them by a path (not an fd name of another process). */
function writableLayers(old: OverlayMountInfo): Array<['upper' | 'work', string]> {
  const notPaths = new Set(old.notes.map((n) => n.field));
  const named: Array<['upper' | 'work', string]> = [];
  if (old.upper !== undefined && !notPaths.has('upper')) named.push(['upper', old.upper]);
  if (old.work !== undefined && !notPaths.has('work')) named.push(['work', old.work]);
  return named;
}

function* refuseSharedLayers(request: NativeMountRequest, old: OverlayMountInfo): Walk<void> {
  if (request.upper === undefined || request.work === undefined) return;
  const oldLayers: Array<['upper' | 'work', string, string | undefined]> = [];
  for (const [field, layer] of writableLayers(old)) oldLayers.push([field, layer, yield* step(identity(layer))]);
  const index = requestUsesIndex(request) || usesIndex(old.options);
  for (const field of ['work', 'upper'] as const) {
    const dir = request[field] as string;
    const mine = yield* step(identity(dir));
    const shared = mine === undefined ? undefined : oldLayers.find(([, , id]) => id === mine);
    if (!shared) continue;
    const [oldField, oldPath] = shared;
    // The template update keeps the upper: allowed as long as neither stack indexes it.
    if (field === 'upper' && oldField === 'upper' && !index) continue;
    const why =
      field === 'upper' && oldField === 'upper'
        ? 'with index=on the kernel refuses an upper another overlay uses'
        : 'the kernel would mount both stacks on one directory, logging only that the result is undefined behavior';
    throw invalid(
      field,
      `'${dir}' is the ${oldField} ('${oldPath}') of the overlay being replaced on '${old.target}' (mount ${old.mountId}); ${why}: give the new stack its own ${field} directory`,
      EBUSY,
      dir,
    );
  }
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
  const old = topOf(yield* step(stackOn(request.target)));
  if (old === undefined) return request;
  yield* refuseSharedLayers(request, old);
  // Set in place: a spread copy would give the packed request a new shape on every call.
  if (request.propagation === undefined) request.propagation = keptPropagation(old);
  return request;
}
