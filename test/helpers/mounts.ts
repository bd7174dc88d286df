// How the tests look at mounts: through the library's one mountinfo reader
// (lib/core/mount-table.ts), and one teardown for a mount a test made.
import type { Test } from 'tap';
import type { OverlayMount } from '../../lib/index';
import { readMountTable, type MountTableEntry } from '../../lib/core/mount-table';

/** The mounts on `target`, bottom first. */
export function mountsAt(target: string): MountTableEntry[] {
  return readMountTable().filter((m) => m.target === target);
}

/** The topmost mount on `target`, or undefined when nothing is mounted there. */
export function topMount(target: string): MountTableEntry | undefined {
  return mountsAt(target).at(-1);
}

/** mountinfo's optional fields (shared:N, master:N, unbindable) of the top mount on `target`. */
export function propagationFields(target: string): string[] {
  return topMount(target)?.optional ?? [];
}

/** The superblock options of the top mount on `target`, as mountinfo writes them (still escaped). */
export function superOptions(target: string): string[] {
  return topMount(target)?.superOptions.split(',') ?? [];
}

/** Mount points at or beneath `dir`, deepest first. */
export function mountsBeneath(dir: string): string[] {
  const points = readMountTable()
    .map((m) => m.target)
    .filter((p) => p === dir || p.startsWith(dir + '/'));
  return points.sort((a, b) => b.length - a.length);
}

/** Unmounts `m` when the test ends, if it is still mounted: for a test that may fail half way. */
export function unmountAtEnd<M extends OverlayMount>(t: Test, m: M): M {
  t.teardown(() => (m.mounted ? m.unmountSync({ detach: true }) : undefined));
  return m;
}

/** Polls until `ready()` holds or `timeoutMs` passed; returns whether it holds, for a test to assert with its own words. */
export async function settled(ready: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/** Polls until `ready()` holds, failing with `what` after `timeoutMs` instead of hanging the run. */
export async function waitFor(what: string, ready: () => boolean, timeoutMs = 10_000): Promise<void> {
  if (!(await settled(ready, timeoutMs))) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
}
