// changes() one change at a time, for trees too big to hold as a list: the
// native walk hands over a batch when the consumer asks for more, and stops
// when it stops asking.
import { CHANGES_BATCH, openWalk, toChangesRequest, unpackBatch, type ChangesOptions, type ChangesRequest, type LayerChange } from './layer-changes-walk';
import type { PathLike } from './layer-names';
import { native } from '../core/native';

/**
 * The changes of {@link changes}, the same objects in the same order (by
 * path bytes), one at a time: `for await (const c of changesIterator(upper,
 * { lower }))`. The walk runs in a worker a batch (4,096 changes) at a time,
 * and only when the loop asks for more: a loop that stops reading stops the
 * walk, and `break` (or `return()`) closes every fd it holds at once.
 * Arguments are checked when it is called; what the walk meets (a missing
 * upper, an unreadable directory) rejects the `next()` that met it, as an
 * OverlayError, after the changes before it.
 *
 * Memory: one batch, the directories open on the way down (names and fds),
 * and, behind a directory not decided yet, the changes that follow it.
 * Docker's rule lists a directory both layers show, with the same mode, size
 * and time, only if an addition or deletion lies beneath it, and its line
 * comes first: the changes after it wait until one turns up or its subtree
 * ends. At worst (a directory copied up unchanged whose subtree holds only
 * changed files, as `chown -R` of existing files leaves it) that is every
 * change of the subtree: never more than the list changes() would hold.
 */
export function changesIterator(upper: PathLike, options?: ChangesOptions): AsyncGenerator<LayerChange, void, undefined> {
  return readChanges(toChangesRequest(upper, options, 'changesIterator()'));
}

/** Synchronous twin of {@link changesIterator}: `for (const c of changesIteratorSync(upper))`. */
export function changesIteratorSync(upper: PathLike, options?: ChangesOptions): Generator<LayerChange, void, undefined> {
  return readChangesSync(toChangesRequest(upper, options, 'changesIteratorSync()'));
}

// Generators: a consumer's `break` runs the finally, which closes the walk.
// A batch is only read while the generator runs, so none is ever in flight there.
async function* readChanges(r: ChangesRequest): AsyncGenerator<LayerChange, void, undefined> {
  const walk = openWalk(r);
  try {
    for (let done = false; !done; ) {
      const [paths, kinds, last] = await native.layerChangesNext(walk, CHANGES_BATCH);
      done = last;
      // A plain loop: yield* over an array costs an extra promise per change here.
      for (const change of unpackBatch(paths, kinds, [])) yield change;
    }
  } finally {
    native.layerChangesClose(walk);
  }
}

function* readChangesSync(r: ChangesRequest): Generator<LayerChange, void, undefined> {
  const walk = openWalk(r);
  try {
    for (let done = false; !done; ) {
      const [paths, kinds, last] = native.layerChangesNextSync(walk, CHANGES_BATCH);
      done = last;
      yield* unpackBatch(paths, kinds, []);
    }
  } finally {
    native.layerChangesClose(walk);
  }
}
