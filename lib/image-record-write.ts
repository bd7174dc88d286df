// The record of a mount that used images (image-record.ts says what it holds
// and why). The addon writes it in the same call as the mount
// (native/images/image_record_file.h says why there): this file gives it the part
// of the record only the request knows, and afterwards checks the few other
// records the addon picked (image-record-live.ts).
import type { NativeImageSpec } from './image-layers';
import { checkSampleWalk, PRUNE_SAMPLE } from './image-record-live';
import { mountNamespace, recordDir, type ImageLayerName, type ImageRecord } from './image-record';
import type { NativeMountRequest, NativeMountResult, NativeRecordArgument } from './native';
import { runAsync, runSync } from './sync-or-async';

/** The request's part of a record: every field the addon does not fill in from what it mounted. */
type RequestFields = Omit<ImageRecord, 'version' | 'uniqueMountId' | 'mountId' | 'superblock' | 'images' | 'loops'>;

function nameOf(spec: NativeImageSpec | null | undefined): ImageLayerName | null {
  return spec ? { image: spec[0], path: `/${spec[1] ?? ''}` } : null;
}

/** What the addon takes to record a mount with images: [dir, the request's fields as JSON, how many others to pick]; undefined without images. */
export function recordArgument(request: NativeMountRequest): NativeRecordArgument | undefined {
  if (!request.images) return undefined;
  const [lower, data, upper, work] = request.images;
  const fields: RequestFields = {
    mountNs: mountNamespace(),
    target: request.target,
    lower: lower.map(nameOf),
    data: data.map(nameOf),
    upper: nameOf(upper),
    work: nameOf(work),
    paths: { lower: request.lower, data: request.data, upper: request.upper ?? null, work: request.work ?? null },
  };
  return [recordDir(), JSON.stringify(fields), PRUNE_SAMPLE];
}

/** The result, once the other records the addon picked are checked (a stale one is removed). */
export function pruneOthersSync(result: NativeMountResult): NativeMountResult {
  if (result.recordFile && result.pruneSample?.length) runSync(checkSampleWalk(result.recordFile, result.pruneSample));
  return result;
}

/** Promise twin of {@link pruneOthersSync}. */
export async function pruneOthers(result: NativeMountResult): Promise<NativeMountResult> {
  if (result.recordFile && result.pruneSample?.length) await runAsync(checkSampleWalk(result.recordFile, result.pruneSample));
  return result;
}
