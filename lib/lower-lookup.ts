// What a stack of lower layers shows at a path, read offline the way the
// kernel's lookup reads it: the first layer that has the name wins; a
// whiteout, a non-directory on the way, or an opaque directory hides every
// layer beneath it.
import type * as fs from 'node:fs';
import * as path from 'node:path';
import { lstatStep, mayBeWhiteout, opaqueStep, readdirStep, whiteoutStep } from './layer-steps';
import { step, type Walk } from './sync-or-async';

export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** The lstat of what the lowers show at `rel` (relative, no leading '/'), or undefined when they show nothing. */
export function* lowerEntry(lowers: readonly string[], rel: string, userxattr: boolean): Walk<fs.Stats | undefined> {
  const parts = rel.split('/');
  for (const root of lowers) {
    const marks = { root, userxattr };
    let hidesBelow = false;
    let prefix = '';
    for (const [i, part] of parts.entries()) {
      prefix = joinRel(prefix, part);
      const st = yield* step(lstatStep(path.join(root, prefix)));
      if (st === undefined) break;
      if (mayBeWhiteout(st) && (yield* step(whiteoutStep(prefix, marks)))) return undefined;
      if (i === parts.length - 1) return st;
      if (!st.isDirectory()) return undefined;
      if ((yield* step(opaqueStep(prefix, marks))) === 'y') hidesBelow = true;
    }
    if (hidesBelow) return undefined;
  }
  return undefined;
}

/** Whether every component of `rel` in `root` is a real directory (no symlink followed on the way). */
function* isRealDir(root: string, rel: string): Walk<boolean> {
  let prefix = '';
  for (const part of rel === '' ? [] : rel.split('/')) {
    prefix = joinRel(prefix, part);
    const st = yield* step(lstatStep(path.join(root, prefix)));
    if (!st?.isDirectory()) return false;
  }
  return true;
}

/** The names the lowers show in directory `rel`, sorted. */
export function* lowerChildren(lowers: readonly string[], rel: string, userxattr: boolean): Walk<string[]> {
  const names = new Set<string>();
  for (const root of lowers) {
    if (!(yield* isRealDir(root, rel))) continue;
    for (const name of yield* step(readdirStep(path.join(root, rel)))) names.add(name);
  }
  const visible: string[] = [];
  for (const name of [...names].sort()) if (yield* lowerEntry(lowers, joinRel(rel, name), userxattr)) visible.push(name);
  return visible;
}
