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
// /run is emptied at boot. This file: the record's form, as the addon writes
// it (native/images/image_record_file.cc, which alone names the files) and as the
// one parser here reads it, and its file-system steps; image-record-live.ts
// checks them.
import fs from 'node:fs';
import path from 'node:path';
import { native, type NativeImageInfo } from '../core/native';
import { step, type Step } from '../core/sync-or-async';

/** Where records live; OVERLAY_NATIVE_RECORD_DIR moves them (tests, the bench). */
export function recordDir(): string {
  // Empty counts as unset, as for most variables: an empty name would put records in the working directory.
  return process.env.OVERLAY_NATIVE_RECORD_DIR || '/run/overlay-native/images';
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
  /** "major:minor:inode" of an upper or work inside an image (null for a plain one): what a second stack on the same image is checked against (image-dirs-in-use.ts). */
  dirIds?: { upper: string | null; work: string | null };
}

/** A record believed, and how it was checked. */
export interface LiveRecord {
  record: ImageRecord;
  checkedBy: 'unique-mount-id' | 'superblock-and-loops';
}

export function toMountedImages(images: NativeImageInfo[] | undefined): MountedImage[] {
  return (images ?? []).map(([image, type, , , loop, writable]) => ({ image, type, loopDevice: loop < 0 ? null : `/dev/loop${loop}`, readOnly: !writable }));
}

let ownMountNamespace: string | undefined;

/**
 * The mount namespace this process lives in (/proc/self/ns/mnt's link text),
 * read once: it cannot change. setns and unshare of a mount namespace refuse
 * a thread that shares its filesystem context, and every Node process has
 * more than one thread. (The addon's helper threads unshare their own, and
 * /proc/self names the main thread's.)
 */
export function mountNamespace(): string {
  if (ownMountNamespace === undefined) {
    try {
      ownMountNamespace = fs.readlinkSync('/proc/self/ns/mnt');
    } catch {
      return '';
    }
  }
  return ownMountNamespace;
}

export const backingFile = (device: string): string => `/sys/block/${path.basename(device)}/loop/backing_file`;

// Each file-system step in both forms, for the walks that check records.
export const readdirStep = (dir: string): Step<string[]> => ({ sync: () => fs.readdirSync(dir), async: () => fs.promises.readdir(dir) });
const readStep = (file: string): Step<string> => ({ sync: () => fs.readFileSync(file, 'utf8'), async: () => fs.promises.readFile(file, 'utf8') });
export const lookupStep = (uniqueMountId: number): Step<number> => ({
  sync: () => native.mountIdOfUniqueSync(uniqueMountId),
  async: () => native.mountIdOfUnique(uniqueMountId),
});

/** A file's text, trimmed; '' when it cannot be read. */
export function* readOrEmpty(file: string): Generator<Step<unknown>, string, unknown> {
  try {
    return (yield* step(readStep(file))).trim();
  } catch {
    return '';
  }
}

/** Drops a record (of an overlay this process unmounted; a listing would drop it anyway). */
export function removeRecord(file: string | undefined): void {
  if (!file) return;
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** A record's text as a record, or undefined when it is not one of this version's. */
export function parseRecord(text: string): ImageRecord | undefined {
  try {
    const r = JSON.parse(text) as ImageRecord;
    const shaped = r && r.version === 1 && typeof r.uniqueMountId === 'number' && typeof r.mountId === 'number';
    return shaped && typeof r.paths === 'object' && Array.isArray(r.loops) ? r : undefined;
  } catch {
    return undefined;
  }
}
