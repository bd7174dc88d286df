// The work directories apply hands out. overlay empties its work directory
// at mount and keeps using it while mounted, and the kernel mounts a second
// stack on a work directory in use with only a warning ("workdir is in-use
// ... undefined behavior"). So the declared `work` is a parent: each mount
// gets a new, empty `g<N>` inside it (same filesystem, same mount), and a
// generation is removed only once its stack is gone.
import fs from 'node:fs';
import path from 'node:path';

const GENERATION = /^g([0-9]{1,9})$/;

/** Whether a name inside a declared work directory is one of apply's generations. */
export function isGenerationName(name: string): boolean {
  return GENERATION.test(name);
}

/** The generation directory `n` of a declared work directory. */
export function generationDir(work: string, n: number): string {
  return path.join(work, `g${n}`);
}

/** A generation number never used in `work` yet (above every g<N> there and the recorded one). */
export function nextGeneration(work: string, recorded = 0): number {
  let highest = recorded;
  for (const name of fs.readdirSync(work)) {
    const m = GENERATION.exec(name);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return highest + 1;
}

/** Makes the generation directory; it must not exist (a new name each time, so it is empty). */
export function makeGeneration(dir: string): void {
  fs.mkdirSync(dir, { mode: 0o700 });
}

/** Removes a generation whose stack is gone (overlay's own `work/` inside it is mode 000: root removes it). */
export function removeGeneration(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
