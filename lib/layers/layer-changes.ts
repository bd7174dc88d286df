// What an upper layer changed against its lowers, as `docker diff` and
// `podman diff` list it: A added, C changed, D deleted. The walk is native
// (native/layers/changes/layer_changes_walk.cc), fd-relative, in a worker for the Promise
// form, the same walk for the Sync twin. The list is gathered from its
// batches: at its peak, the list, the batch being made into objects and the
// next one being walked (plus what waits behind an undecided directory).
import { CHANGES_BATCH, openWalk, toChangesRequest, unpackBatch, type ChangesOptions, type LayerChange } from './layer-changes-walk';
import { native } from '../core/native';
import type { PathLike } from './layer-names';

export type { ChangeKind, ChangesOptions, LayerChange } from './layer-changes-walk';

/**
 * Lists what `upper` changed over `lower`, sorted by path (by bytes).
 * Whiteouts (either kind) are D; an entry the lowers show is C, else A; a
 * directory both show is listed only when its own mode, size or mtime
 * differ, or something beneath it was added or deleted. Symlinks are never
 * followed on the way, in the upper or the lowers. For a tree too big to
 * hold as a list, {@link changesIterator} gives the same changes one by one.
 */
export async function changes(upper: PathLike, options?: ChangesOptions): Promise<LayerChange[]> {
  const walk = openWalk(toChangesRequest(upper, options, 'changes()'));
  const out: LayerChange[] = [];
  // The next batch is walked in the worker while this one becomes objects.
  let reading = native.layerChangesNext(walk, CHANGES_BATCH);
  let inFlight = true;
  try {
    for (;;) {
      const [paths, kinds, done] = await reading;
      inFlight = !done;
      if (!done) reading = native.layerChangesNext(walk, CHANGES_BATCH);
      unpackBatch(paths, kinds, out);
      if (done) return out;
    }
  } finally {
    // A failed walk closed itself; one left mid-read is closed once the read settles.
    if (inFlight) await reading.then(() => undefined, () => undefined);
    native.layerChangesClose(walk);
  }
}

/** Synchronous twin of {@link changes}. */
export function changesSync(upper: PathLike, options?: ChangesOptions): LayerChange[] {
  const walk = openWalk(toChangesRequest(upper, options, 'changesSync()'));
  const out: LayerChange[] = [];
  try {
    for (;;) {
      const [paths, kinds, done] = native.layerChangesNextSync(walk, CHANGES_BATCH);
      unpackBatch(paths, kinds, out);
      if (done) return out;
    }
  } finally {
    native.layerChangesClose(walk);
  }
}
