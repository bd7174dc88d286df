// Which records to believe: a record is believed only after it is checked
// against the live mount (image-record.ts says how), and one whose overlay is
// gone is removed: every one by a listing, a few by each image mount.
import path from 'node:path';
import { backingFile, lookupStep, mountNamespace, parseRecord, readdirStep, readOrEmpty, recordDir, removeRecord, type ImageRecord, type LiveRecord } from './image-record';
import { devicesByMountId, mountTableTextOrEmptyStep } from '../core/mount-table';
import { runAsync, runSync, step, type Step, type Walk } from '../core/sync-or-async';

// Whether a record without a unique id still describes a live mount.
function* stillBound(record: ImageRecord, devices: Map<number, string>): Generator<Step<unknown>, boolean, unknown> {
  if (devices.get(record.mountId) !== record.superblock || record.loops.length === 0) return false;
  for (const [device, backing] of record.loops) {
    if (backing === '' || (yield* readOrEmpty(backingFile(device))) !== backing) return false;
  }
  return true;
}

// The records a check meets, and what it learnt on the way (the record directory is looked up
// once per walk, mountinfo read at most once).
interface CheckState {
  dir: string;
  ns: string;
  live: Map<number, LiveRecord>;
  devices?: Map<number, string>;
}

// Believes the record in `name` (into state.live) or, when its overlay is gone, removes it.
// A record of another namespace is left alone: it cannot be checked from here.
function* checkWalk(name: string, state: CheckState): Walk<void> {
  const file = path.join(state.dir, name);
  const record = parseRecord(yield* readOrEmpty(file));
  if (!record || record.mountNs !== state.ns) return;
  if (record.uniqueMountId) {
    let mountId: number;
    try {
      mountId = yield* step(lookupStep(record.uniqueMountId));
    } catch {
      return; // no statmount here: unverifiable, so not believed
    }
    if (mountId === 0) removeRecord(file);
    else if (mountId === record.mountId) state.live.set(mountId, { record, checkedBy: 'unique-mount-id' });
    return;
  }
  state.devices ??= devicesByMountId(yield* step(mountTableTextOrEmptyStep));
  if (yield* stillBound(record, state.devices)) state.live.set(record.mountId, { record, checkedBy: 'superblock-and-loops' });
  else removeRecord(file);
}

function* recordNamesWalk(dir: string): Walk<string[]> {
  try {
    return (yield* step(readdirStep(dir))).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
}

/**
 * The records of overlays still mounted in this namespace, by mountinfo id;
 * one of this namespace whose overlay is gone is removed.
 */
function* liveWalk(): Walk<Map<number, LiveRecord>> {
  const state: CheckState = { dir: recordDir(), ns: mountNamespace(), live: new Map() };
  for (const name of yield* recordNamesWalk(state.dir)) yield* checkWalk(name, state);
  return state.live;
}

/** How many other records each image mount checks (the addon picks them: native/images/image_record_file.cc). */
export const PRUNE_SAMPLE = 4;

// Records of overlays unmounted by other tools (umount(8)) are removed by the
// next listing, and meanwhile by image mounts: each checks a few others picked
// at random, not all, so that a mount costs the same beside a thousand live
// stacks as beside none. Each mount leaves at most one record behind and finds
// a stale one among its PRUNE_SAMPLE with the odds of their share, so stale
// records stay a bounded share of live ones (a third, when every stack is
// unmounted behind the library's back).
export function* checkSampleWalk(ownFile: string, names: string[]): Walk<void> {
  const state: CheckState = { dir: path.dirname(ownFile), ns: mountNamespace(), live: new Map() };
  for (const name of names) yield* checkWalk(name, state);
}

// After an unmount by path: the record of what was on top, judged as a
// listing would judge it, and so removed only if its overlay is gone.
function* dropIfGoneWalk(name: string): Walk<void> {
  yield* checkWalk(name, { dir: recordDir(), ns: mountNamespace(), live: new Map() });
}
export const dropIfGoneSync = (name: string): void => runSync(dropIfGoneWalk(name));
export const dropIfGone = (name: string): Promise<void> => runAsync(dropIfGoneWalk(name));

export const liveRecordsSync = (): Map<number, LiveRecord> => runSync(liveWalk());
export const liveRecords = (): Promise<Map<number, LiveRecord>> => runAsync(liveWalk());
