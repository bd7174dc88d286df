// The record of a mount that used images (image-record.ts says what it holds
// and why). The addon writes it, whole and under its name, in the same call
// as the mount (native/images/image_record_file.h says why there): this file says
// where, and afterwards checks the few other records the addon picked
// (image-record-live.ts).
import { checkSampleWalk, PRUNE_SAMPLE } from './image-record-live';
import { recordDir } from './image-record';
import type { NativeMountRequest, NativeMountResult, NativeRecordArgument } from '../core/native';
import { runAsync, runSync } from '../core/sync-or-async';

/** What the addon takes to record a mount with images: [dir, how many others to pick]; undefined without images. */
export function recordArgument(request: NativeMountRequest): NativeRecordArgument | undefined {
  return request.images ? [recordDir(), PRUNE_SAMPLE] : undefined;
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
