// Writing the record of a mount that used images (image-record.ts says what
// it holds and why): atomic by rename, so a listing never reads half a one;
// each mount also checks a few other records (image-record-live.ts).
import * as path from 'node:path';
import type { NativeImageSpec } from './image-layers';
import { pruneWalk } from './image-record-live';
import { backingFile, mkdirStep, mountNamespace, readOrEmpty, recordFileOf, renameStep, toMountedImages, writeStep, type ImageLayerName, type ImageRecord } from './image-record';
import type { NativeMountRequest, NativeMountResult } from './native';
import { runAsync, runSync, step, type Walk } from './sync-or-async';

const NO_RECORD =
  'no record of the image layers: this kernel gives no unique mount id (6.8+), and no image went through a loop device to check a record by';

function nameOf(spec: NativeImageSpec | null | undefined): ImageLayerName | null {
  return spec ? { image: spec[0], path: `/${spec[1] ?? ''}` } : null;
}

// The record written, then a few other records checked.
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
      yield* step(mkdirStep(path.dirname(file)));
      yield* step(writeStep(`${file}.tmp`, text));
    }
    yield* step(renameStep(`${file}.tmp`, file));
  } catch (err) {
    return `no record of the image layers: ${(err as Error).message}`;
  }
  yield* pruneWalk(file, mountNs);
  return undefined;
}

/**
 * Writes the record of a mount that used images. A failure to write does not
 * undo the mount: it comes back as a warning, and listings then say the
 * record is missing.
 */
export const writeRecordSync = (request: NativeMountRequest, result: NativeMountResult): string | undefined => runSync(writeWalk(request, result));
export const writeRecord = (request: NativeMountRequest, result: NativeMountResult): Promise<string | undefined> => runAsync(writeWalk(request, result));

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
