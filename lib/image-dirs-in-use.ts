// Which upper and work directories live overlays use, by device and inode,
// for a request whose upper or work lies in an image. The image's loop
// device may be one already bound to it (one superblock per image file:
// native/images/image_device.h), and then the directory may be one a live stack
// writes: two stacks on one upper image must mean what two stacks on one
// upper directory mean. The addon compares once it has the directory open
// inside the image (native/images/image_dirs_in_use.h). A stack with an image
// upper is known by its record's dirIds, any other by the path mountinfo shows.
import * as fs from 'node:fs';
import { liveRecords, liveRecordsSync } from './image-record-live';
import type { LiveRecord } from './image-record';
import { MOUNTINFO } from './mount-table';
import { parseMountinfo } from './mountinfo';
import type { OverlayMountInfo } from './overlay-mount-info';
import type { NativeMountRequest } from './native';
import { runAsync, runSync, step, type Walk } from './sync-or-async';

/** [id "major:minor:inode", the words naming who uses it]. */
export type DirInUse = [id: string, holder: string];

/** "major:minor:inode" of a stat, as the addon words a statx (glibc's dev_t encoding). */
export function dirId(st: fs.BigIntStats): string {
  const major = ((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & 0xfffff000n);
  const minor = (st.dev & 0xffn) | ((st.dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}:${st.ino}`;
}

function statId(p: string): string | undefined {
  try {
    return dirId(fs.statSync(p, { bigint: true }));
  } catch {
    return undefined;
  }
}

/** The overlay on top at `target`: the one no other overlay there is mounted on. */
function topAt(mounts: OverlayMountInfo[], target: string): OverlayMountInfo | undefined {
  const stack = mounts.filter((m) => m.target === target);
  return stack.find((m) => !stack.some((other) => other.parentId === m.mountId));
}

function realOrAsIs(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function inUse(mounts: OverlayMountInfo[], records: Map<number, LiveRecord>, replacing: OverlayMountInfo | undefined): DirInUse[] {
  const found: DirInUse[] = [];
  for (const m of mounts) {
    const record = records.get(m.mountId)?.record;
    const ids = record?.dirIds;
    const named = new Set(m.notes.map((n) => n.field));
    for (const field of ['upper', 'work'] as const) {
      // The stack being replaced keeps its upper for the new one (the template update); never its work.
      if (m === replacing && field === 'upper') continue;
      const shown = m[field];
      // A plain directory mountinfo shows by an fd name (the detour before 6.15): the record has its path.
      const plain = shown !== undefined && !named.has(field) ? shown : (record?.paths[field] ?? undefined);
      const id = ids?.[field] ?? (plain !== undefined && record?.[field] == null ? statId(plain) : undefined);
      if (id === undefined || id === null) continue;
      const whose = m === replacing ? `the overlay being replaced on ${m.target}` : `the overlay mounted on ${m.target}`;
      found.push([id, `the ${field} of ${whose} (mount id ${m.mountId})`]);
    }
  }
  return found;
}

function wantsCheck(request: NativeMountRequest): boolean {
  return request.images !== undefined && (request.images[2] !== null || request.images[3] !== null);
}

/** Every upper and work directory live overlays use; with `replacing`, the target whose top stack's upper may be kept. */
function* liveDirsWalk(replacing?: string): Walk<DirInUse[]> {
  const text = yield* step({ sync: () => fs.readFileSync(MOUNTINFO, 'utf8'), async: () => fs.promises.readFile(MOUNTINFO, 'utf8') });
  const mounts = parseMountinfo(text);
  if (mounts.length === 0) return [];
  const records = yield* step({ sync: liveRecordsSync, async: liveRecords });
  return inUse(mounts, records, replacing === undefined ? undefined : topAt(mounts, realOrAsIs(replacing)));
}

/** The request with the directories live overlays use, when its upper or work is in an image (for `replace`, the replaced stack's upper is free to keep). */
export function* dirsInUseWalk(request: NativeMountRequest, replace: boolean): Walk<NativeMountRequest> {
  if (!wantsCheck(request)) return request;
  request.images![4] = yield* liveDirsWalk(replace ? request.target : undefined);
  return request;
}

export const withImageDirsInUseSync = (request: NativeMountRequest): NativeMountRequest => runSync(dirsInUseWalk(request, false));
export const withImageDirsInUse = (request: NativeMountRequest): Promise<NativeMountRequest> => runAsync(dirsInUseWalk(request, false));

/** For check(): the directories live overlays use (check, like mount, must not take one, nor probe inside a live work). */
export const imageDirsInUseSync = (): DirInUse[] => runSync(liveDirsWalk());
export const imageDirsInUse = (): Promise<DirInUse[]> => runAsync(liveDirsWalk());
