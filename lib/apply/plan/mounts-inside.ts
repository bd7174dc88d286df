// apply replaces and unmounts stacks by detaching them, and a mount made
// inside one by someone else (a tmpfs at TARGET/run, a bind mount) would go
// with it unseen. The stacks of the declaration and the record that lie
// inside another are apply's own and are mounted again in their phase
// (lib/apply/plan/depends.ts); any other mount inside a stack to be replaced or
// unmounted refuses the declaration before anything changes.
import fs from 'node:fs';
import { readMountTableText } from '../../core/mount-table';
import { refuseMountsInside } from '../../live/replace-submounts';
import { inStack } from './declaration';
import type { PlannedAction } from './plan';

function realOrAsIs(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** Refuses a plan that would detach a mount apply does not manage, naming the stack and the mount. */
export function refuseForeignMountsInside(actions: PlannedAction[], managedTargets: Iterable<string>): void {
  const detaching = actions.filter((a) => (a.action === 'replace' || a.action === 'unmount') && a.seen.overlay !== undefined);
  if (detaching.length === 0) return;
  const mountinfo = readMountTableText();
  const handled = new Set([...managedTargets].map(realOrAsIs));
  for (const a of detaching) {
    try {
      refuseMountsInside(a.seen.overlay!, mountinfo, handled);
    } catch (err) {
      if (a.stack !== undefined) throw inStack(err, a.stack.index, a.name);
      (err as Error).message = `stack '${a.name}' (no longer declared): ${(err as Error).message}`;
      throw err;
    }
  }
}
