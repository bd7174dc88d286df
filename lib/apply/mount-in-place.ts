// Kernels without `lowerdir+` cannot build a stack detached: there apply
// mounts the new stacks in turn, the ordinary way, and if one fails,
// unmounts again those this call mounted before rethrowing.
import { step, type Walk } from '../core/sync-or-async';
import { umount, umountSync } from '../live/umount';
import { explainBusyLayer } from '../inspect/busy-layers';
import { inStack } from './plan/declaration';
import type { Done, Move } from './outcome';
import type { PlannedAction } from './plan/plan';
import { identityStep } from './steps';
import { mountStep } from '../request/native-mount';

export function* mountInPlace(moves: Move[], done: Map<PlannedAction, Done>): Walk<void> {
  const mounted: Move[] = [];
  try {
    for (const m of moves) {
      try {
        // Kernels without `lowerdir+` cannot build detached: there a stack is mounted the ordinary way.
        m.warnings = (yield* step(mountStep(m.request))).warnings;
      } catch (err) {
        throw inStack(explainBusyLayer(err, m.request), m.action.stack!.index, m.action.name);
      }
      mounted.push(m);
      const [mountId, uniqueId] = yield* step(identityStep(m.action.target));
      done.set(m.action, { mountId, uniqueId, busy: false });
    }
  } catch (err) {
    for (const m of mounted.reverse()) {
      yield* step({ sync: () => umountSync(m.action.target), async: () => umount(m.action.target) });
      done.delete(m.action);
    }
    throw err;
  }
}
