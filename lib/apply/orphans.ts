// What a killed apply leaves behind: work generations it made (`WORK/gN`)
// that no stack ended up using, and a record it was writing under a
// temporary name. Both are apply's own by their names, and the next apply
// (which holds the lock, so the one that made them is gone) removes them:
// a generation only when neither the record nor a mounted overlay uses it.
import fs from 'node:fs';
import path from 'node:path';
import type { OverlayMountInfo } from '../inspect/mountinfo';
import type { ApplyRecord } from './record';
import { generationDir, isGenerationName, removeGeneration } from './work-dirs';
import { alive } from './lock';

function real(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * Removes the generations inside `workDirs` (the declared and the recorded
 * work directories) that the record does not name (a stack's own or one in
 * `keptWork`) and no mounted overlay has as its work directory. Returns the
 * ones removed.
 */
export function removeOrphanGenerations(workDirs: Iterable<string>, record: ApplyRecord, mounts: Iterable<OverlayMountInfo>): string[] {
  const used = new Set<string>(record.keptWork.map(real));
  for (const e of record.stacks) if (e.work !== undefined && e.generation !== undefined) used.add(real(generationDir(e.work, e.generation)));
  for (const m of mounts) if (m.work !== undefined) used.add(real(m.work));
  const removed: string[] = [];
  for (const work of new Set([...workDirs].map(real))) {
    let names: string[];
    try {
      names = fs.readdirSync(work);
    } catch {
      continue; // not there, or an image file: nothing of apply's inside
    }
    for (const name of names) {
      const dir = path.join(work, name);
      if (!isGenerationName(name) || used.has(dir)) continue;
      removeGeneration(dir);
      removed.push(dir);
    }
  }
  return removed;
}

/** Removes `<stateFile>.<pid>.tmp` left by an apply killed while writing the record. */
export function removeStaleRecordTemps(stateFile: string): void {
  const dir = path.dirname(stateFile);
  const prefix = `${path.basename(stateFile)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^([0-9]+)\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
}
