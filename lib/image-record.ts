// The record of which image files an overlay's layers came from. The kernel
// keeps no link back (mountinfo shows an image layer as `lowerdir+=/`), so
// each mount with image layers leaves a small file here, and a listing
// believes it only after checking it against the live mount, so that a record
// can neither outlive its overlay nor be taken for another's:
// - 6.8+: named by the overlay's unique mount id (never reused until reboot),
//   believed when statmount finds that id mounted here under the same mount id;
// - before: named by mount id and the overlay's superblock device, both of
//   which the kernel reuses, so believed only while that mount shows that
//   device and every loop device the record names is still bound to the file
//   it recorded (an autoclear loop device unbinds when its overlay goes). A
//   stack whose images all went without a loop device (erofs from the file)
//   has nothing to check, and gets no record.
// /run is emptied at boot; a record whose overlay is gone is removed when a
// listing meets it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native, type NativeImageInfo, type NativeMountRequest, type NativeMountResult } from './native';
import type { NativeImageSpec } from './image-layers';
import { runAsync, runSync, step, type Step, type Walk } from './sync-or-async';

/** Where records live; OVERLAY_NATIVE_RECORD_DIR moves them (tests, the bench). */
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
  /** 0 where the kernel has none (before 6.8). */
  uniqueMountId: number;
  mountId: number;
  /** The overlay's device as mountinfo shows it ('0:45'). */
  superblock: string;
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
  /** Each loop device and its sysfs backing_file when mounted: what a record without a unique id is checked by (empty in one with a unique id). */
  loops: Array<[device: string, backing: string]>;
}

/** A record believed, and how it was checked. */
export interface LiveRecord {
  record: ImageRecord;
  checkedBy: 'unique-mount-id' | 'superblock-and-loops';
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

const backingFile = (device: string): string => `/sys/block/${path.basename(device)}/loop/backing_file`;

/** The file a record is kept in: by unique mount id, else by mount id and superblock. */
export function recordFileOf(result: NativeMountResult): string | undefined {
  if (!result.images) return undefined;
  const name = result.uniqueMountId ? `${result.uniqueMountId}` : `m${result.mountId}-${(result.superblock ?? '').replace(':', '_')}`;
  return path.join(recordDir(), `${name}.json`);
}

const NO_RECORD =
  'no record of the image layers: this kernel gives no unique mount id (6.8+), and no image went through a loop device to check a record by';

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

function* readOrEmpty(file: string): Generator<Step<unknown>, string, unknown> {
  try {
    return (yield* step(readStep(file))).trim();
  } catch {
    return '';
  }
}

// Atomic by rename, so a listing never reads half a record.
function* writeWalk(request: NativeMountRequest, result: NativeMountResult): Walk<string | undefined> {
  const file = recordFileOf(result);
  if (!request.images || !file) return undefined;
  const images = toMountedImages(result.images);
  // Only a record without a unique mount id is checked by its loop devices: read sysfs for those alone.
  const loops: Array<[string, string]> = [];
  if (!result.uniqueMountId) {
    for (const image of images) if (image.loopDevice) loops.push([image.loopDevice, yield* readOrEmpty(backingFile(image.loopDevice))]);
  }
  if (!result.uniqueMountId && loops.length === 0) return NO_RECORD;
  const [lower, data, upper, work] = request.images;
  const mountNs = mountNamespace();
  const record: ImageRecord = {
    version: 1,
    uniqueMountId: result.uniqueMountId ?? 0,
    mountId: result.mountId,
    superblock: result.superblock ?? '',
    mountNs,
    target: request.target,
    lower: lower.map(nameOf),
    data: data.map(nameOf),
    upper: nameOf(upper),
    work: nameOf(work),
    images,
    paths: { lower: request.lower, data: request.data, upper: request.upper ?? null, work: request.work ?? null },
    loops,
  };
  const text = JSON.stringify(record);
  try {
    try {
      yield* step(writeStep(`${file}.tmp`, text));
    } catch (err) {
      // The directory is made on first use only: a mkdir on every mount is a cost with nothing to show.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      yield* step(mkdirStep(recordDir()));
      yield* step(writeStep(`${file}.tmp`, text));
    }
    yield* step(renameStep(`${file}.tmp`, file));
  } catch (err) {
    return `no record of the image layers: ${(err as Error).message}`;
  }
  yield* pruneWalk(path.basename(file), mountNs);
  return undefined;
}


/**
 * Writes the record of a mount that used images. A failure to write does not
 * undo the mount: it comes back as a warning, and listings then say the
 * record is missing.
 */
export const writeRecordSync = (request: NativeMountRequest, result: NativeMountResult): string | undefined => runSync(writeWalk(request, result));
export const writeRecord = (request: NativeMountRequest, result: NativeMountResult): Promise<string | undefined> => runAsync(writeWalk(request, result));

/** Drops a record (of an overlay this process unmounted; a listing would drop it anyway). */
export function removeRecord(file: string | undefined): void {
  if (!file) return;
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function parseRecord(text: string): ImageRecord | undefined {
  try {
    const r = JSON.parse(text) as ImageRecord;
    const shaped = r && r.version === 1 && typeof r.uniqueMountId === 'number' && typeof r.mountId === 'number';
    return shaped && typeof r.paths === 'object' && Array.isArray(r.loops) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Mount id -> the device mountinfo shows for it. */
function devicesByMountId(mountinfo: string): Map<number, string> {
  const devices = new Map<number, string>();
  for (const line of mountinfo.split('\n')) {
    const [id, , device] = line.split(' ', 3);
    if (device !== undefined) devices.set(Number(id), device);
  }
  return devices;
}

// Whether a record without a unique id still describes a live mount.
function* stillBound(record: ImageRecord, devices: Map<number, string>): Generator<Step<unknown>, boolean, unknown> {
  if (devices.get(record.mountId) !== record.superblock || record.loops.length === 0) return false;
  for (const [device, backing] of record.loops) {
    if (backing === '' || (yield* readOrEmpty(backingFile(device))) !== backing) return false;
  }
  return true;
}

// The records a check meets, and what it learnt on the way (mountinfo is read at most once).
interface CheckState {
  ns: string;
  live: Map<number, LiveRecord>;
  devices?: Map<number, string>;
}

// Believes the record in `name` (into state.live) or, when its overlay is gone, removes it.
// A record of another namespace is left alone: it cannot be checked from here.
function* checkWalk(name: string, state: CheckState): Walk<void> {
  const file = path.join(recordDir(), name);
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
  state.devices ??= devicesByMountId(yield* readOrEmpty('/proc/self/mountinfo'));
  if (yield* stillBound(record, state.devices)) state.live.set(record.mountId, { record, checkedBy: 'superblock-and-loops' });
  else removeRecord(file);
}

function* recordNamesWalk(): Walk<string[]> {
  try {
    return (yield* step(readdirStep(recordDir()))).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
}

/**
 * The records of overlays still mounted in this namespace, by mountinfo id;
 * one of this namespace whose overlay is gone is removed.
 */
function* liveWalk(): Walk<Map<number, LiveRecord>> {
  const state: CheckState = { ns: mountNamespace(), live: new Map() };
  for (const name of yield* recordNamesWalk()) yield* checkWalk(name, state);
  return state.live;
}

/** How many other records each image mount checks. */
export const PRUNE_SAMPLE = 4;

// Records of overlays unmounted elsewhere (umount(8), ovl umount) are removed
// by the next listing, and meanwhile by image mounts: each checks a few others
// picked at random, not all, so that a mount costs the same beside a thousand
// live stacks as beside none. Each mount leaves at most one record behind and
// finds a stale one among its PRUNE_SAMPLE with the odds of their share, so
// stale records stay a bounded fraction of live ones (about a third at worst).
function* pruneWalk(own: string, ns: string): Walk<void> {
  const others = (yield* recordNamesWalk()).filter((n) => n !== own);
  const state: CheckState = { ns, live: new Map() };
  for (let i = 0; i < PRUNE_SAMPLE && others.length > 0; i++) {
    const pick = Math.floor(Math.random() * others.length);
    const [name] = others.splice(pick, 1);
    yield* checkWalk(name!, state);
  }
}

export const liveRecordsSync = (): Map<number, LiveRecord> => runSync(liveWalk());
export const liveRecords = (): Promise<Map<number, LiveRecord>> => runAsync(liveWalk());

/** The result, with the record of its images written; a record that could not be written is one more warning. */
export function withRecordSync(request: NativeMountRequest, result: NativeMountResult): NativeMountResult {
  const warning = request.images ? writeRecordSync(request, result) : undefined;
  if (warning !== undefined) result.warnings.push(warning);
  return result;
}

/** Promise twin of {@link withRecordSync}. */
export async function withRecord(request: NativeMountRequest, result: NativeMountResult): Promise<NativeMountResult> {
  const warning = request.images ? await writeRecord(request, result) : undefined;
  if (warning !== undefined) result.warnings.push(warning);
  return result;
}
