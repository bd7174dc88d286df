// The upper and work directories live overlays use, as the addon takes them
// for a request whose upper or work lies in an image. The image's loop
// device may be one already bound to it (one superblock per image file:
// native/images/image_device.h), and then the directory may be one a live stack
// writes: two stacks on one upper image must mean what two stacks on one
// upper directory mean. The addon compares once it has the directory open
// inside the image (native/images/image_dirs_in_use.h); which directories are in
// use is live-writers.ts's to say.
import fs from 'node:fs';
import { liveWritersWithImages, type LiveWriters } from './live-writers';
import { mountTableTextStep } from '../core/mount-table';
import { parseMountinfo } from './mountinfo';
import type { OverlayMountInfo } from './overlay-mount-info';
import type { NativeMountRequest } from '../core/native';
import { runAsync, runSync, step, type Walk } from '../core/sync-or-async';

/** [id "major:minor:inode", the words naming who uses it]. */
export type DirInUse = [id: string, holder: string];

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

function inUse(writers: LiveWriters, replacing: OverlayMountInfo | undefined): DirInUse[] {
  const found: DirInUse[] = [];
  for (const [id, holders] of writers.byId) {
    for (const { mount: m, as } of holders) {
      const replaced = m.mountId === replacing?.mountId;
      // The stack being replaced keeps its upper for the new one (the template update); never its work.
      if (replaced && as === 'upper') continue;
      const whose = replaced ? `the overlay being replaced on ${m.target}` : `the overlay mounted on ${m.target}`;
      found.push([id, `the ${as} of ${whose} (mount id ${m.mountId})`]);
    }
  }
  return found;
}

function wantsCheck(request: NativeMountRequest): boolean {
  return request.images !== undefined && (request.images[2] !== null || request.images[3] !== null);
}

/** Every upper and work directory live overlays use; with `replacing`, the target whose top stack's upper may be kept. */
function* liveDirsWalk(replacing?: string): Walk<DirInUse[]> {
  const text = yield* step(mountTableTextStep);
  const top = replacing === undefined ? undefined : topAt(parseMountinfo(text), realOrAsIs(replacing));
  return inUse(liveWritersWithImages(text), top);
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
