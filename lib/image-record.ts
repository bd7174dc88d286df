// The record of which image files an overlay's layers came from. The kernel
// keeps no link back (mountinfo shows an image layer as `lowerdir+=/`), so
// each mount with image layers leaves a small file here, named by the
// overlay's unique mount id (6.8+, never reused until reboot) and checked
// against the live mount (statmount) before it is believed: a record can
// neither outlive its overlay nor be taken for another's. /run is emptied at
// boot; a record whose overlay is gone is removed when a listing meets it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native, type NativeImageInfo, type NativeMountRequest, type NativeMountResult } from './native';
import type { NativeImageSpec } from './image-layers';
import { runAsync, runSync, step, type Step, type Walk } from './sync-or-async';

/** Where records live; OVERLAY_NATIVE_RECORD_DIR moves them (tests). */
export function recordDir(): string {
  return process.env.OVERLAY_NATIVE_RECORD_DIR ?? '/run/overlay-native/images';
}

/** One image an overlay's layers came from. */
export interface MountedImage {
  /** The image file, as given (absolute). */
  image: string;
  type: string;
  /** The loop device it went through ('/dev/loop3'), null when mounted from the file itself (erofs). */
  loopDevice: string | null;
  /** Mounted read-only (a lower or data image); false for an upper/work image. */
  readOnly: boolean;
}

/** A layer slot's image and the directory inside it. */
export interface ImageLayerName {
  image: string;
  path: string;
}

export interface ImageRecord {
  version: 1;
  uniqueMountId: number;
  mountId: number;
  /** /proc/self/ns/mnt's link text of the namespace it was mounted in. */
  mountNs: string;
  target: string;
  lower: Array<ImageLayerName | null>;
  data: Array<ImageLayerName | null>;
  upper: ImageLayerName | null;
  work: ImageLayerName | null;
  images: MountedImage[];
  /** Every layer as requested (an image layer by its image file): names for the fd names some kernels show. */
  paths: { lower: string[]; data: string[]; upper: string | null; work: string | null };
}

export function toMountedImages(images: NativeImageInfo[] | undefined): MountedImage[] {
  return (images ?? []).map(([image, type, , , loop, writable]) => ({ image, type, loopDevice: loop < 0 ? null : `/dev/loop${loop}`, readOnly: !writable }));
}

function nameOf(spec: NativeImageSpec | null | undefined): ImageLayerName | null {
  return spec ? { image: spec[0], path: `/${spec[1] ?? ''}` } : null;
}

function mountNamespace(): string {
  try {
    return fs.readlinkSync('/proc/self/ns/mnt');
  } catch {
    return '';
  }
}

function recordOf(request: NativeMountRequest, result: NativeMountResult): ImageRecord | undefined {
  if (!request.images || !result.uniqueMountId) return undefined;
  const [lower, data, upper, work] = request.images;
  return {
    version: 1,
    uniqueMountId: result.uniqueMountId,
    mountId: result.mountId,
    mountNs: mountNamespace(),
    target: request.target,
    lower: lower.map(nameOf),
    data: data.map(nameOf),
    upper: nameOf(upper),
    work: nameOf(work),
    images: toMountedImages(result.images),
    paths: { lower: request.lower, data: request.data, upper: request.upper ?? null, work: request.work ?? null },
  };
}

function fileFor(uniqueMountId: number): string {
  return path.join(recordDir(), `${uniqueMountId}.json`);
}

const NO_UNIQUE_ID = 'no record of the image layers: this kernel gives no unique mount id (6.8+)';

// Each file-system step in both forms, for the one algorithm below.
const mkdirStep = (dir: string): Step<unknown> => ({
  sync: () => fs.mkdirSync(dir, { recursive: true, mode: 0o700 }),
  async: () => fs.promises.mkdir(dir, { recursive: true, mode: 0o700 }),
});
const writeStep = (file: string, text: string): Step<void> => ({
  sync: () => fs.writeFileSync(file, text, { mode: 0o600 }),
  async: () => fs.promises.writeFile(file, text, { mode: 0o600 }),
});
const renameStep = (from: string, to: string): Step<void> => ({ sync: () => fs.renameSync(from, to), async: () => fs.promises.rename(from, to) });
const readdirStep = (dir: string): Step<string[]> => ({ sync: () => fs.readdirSync(dir), async: () => fs.promises.readdir(dir) });
const readStep = (file: string): Step<string> => ({ sync: () => fs.readFileSync(file, 'utf8'), async: () => fs.promises.readFile(file, 'utf8') });
const lookupStep = (uniqueMountId: number): Step<number> => ({
  sync: () => native.mountIdOfUniqueSync(uniqueMountId),
  async: () => native.mountIdOfUnique(uniqueMountId),
});

// Atomic by rename, so a listing never reads half a record.
function* writeWalk(request: NativeMountRequest, result: NativeMountResult): Walk<string | undefined> {
  const record = recordOf(request, result);
  if (!record) return request.images ? NO_UNIQUE_ID : undefined;
  try {
    yield* step(mkdirStep(recordDir()));
    const file = fileFor(record.uniqueMountId);
    yield* step(writeStep(`${file}.tmp`, JSON.stringify(record)));
    yield* step(renameStep(`${file}.tmp`, file));
    return undefined;
  } catch (err) {
    return `no record of the image layers: ${(err as Error).message}`;
  }
}

/**
 * Writes the record of a mount that used images. A failure to write does not
 * undo the mount: it comes back as a warning, and listings then say the
 * record is missing.
 */
export const writeRecordSync = (request: NativeMountRequest, result: NativeMountResult): string | undefined => runSync(writeWalk(request, result));
export const writeRecord = (request: NativeMountRequest, result: NativeMountResult): Promise<string | undefined> => runAsync(writeWalk(request, result));

/** Drops the record of an overlay this process unmounted (a listing would drop it anyway). */
export function removeRecord(uniqueMountId: number): void {
  if (uniqueMountId) fs.rmSync(fileFor(uniqueMountId), { force: true });
}

function parseRecord(text: string): ImageRecord | undefined {
  try {
    const r = JSON.parse(text) as ImageRecord;
    return r && r.version === 1 && typeof r.uniqueMountId === 'number' && typeof r.mountId === 'number' && typeof r.paths === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The records of overlays still mounted in this namespace, by mountinfo id.
 * Each is believed only if statmount finds its unique id mounted here under
 * the same mountinfo id; one of this namespace whose overlay is gone is removed.
 */
function* liveWalk(): Walk<Map<number, ImageRecord>> {
  const live = new Map<number, ImageRecord>();
  let names: string[];
  try {
    names = yield* step(readdirStep(recordDir()));
  } catch {
    return live;
  }
  const ns = mountNamespace();
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    let record: ImageRecord | undefined;
    let mountId: number;
    try {
      record = parseRecord(yield* step(readStep(path.join(recordDir(), name))));
      if (!record || record.mountNs !== ns) continue;
      mountId = yield* step(lookupStep(record.uniqueMountId));
    } catch {
      continue; // unreadable, or no statmount: unverifiable, so not believed
    }
    if (mountId === 0) removeRecord(record.uniqueMountId);
    else if (mountId === record.mountId) live.set(mountId, record);
  }
  return live;
}

export const liveRecordsSync = (): Map<number, ImageRecord> => runSync(liveWalk());
export const liveRecords = (): Promise<Map<number, ImageRecord>> => runAsync(liveWalk());
