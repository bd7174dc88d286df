// An unpacked OCI layer, converted in place to overlay form: `.wh.NAME`
// becomes a whiteout NAME, `.wh..wh..opq` an opaque mark on its directory.
// The tree is read and checked first, then changed; every whiteout and mark
// is made beneath the layer by the whiteout and opaque calls.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkBoolean, checkChoice, checkPath } from './validate';
import { checkKnownOptions } from './strict-options';
import { lstatStep, readdirStep, fsStep } from './layer-steps';
import { joinRel } from './lower-lookup';
import type { WhiteoutKind } from './native';
import { layerRefusal, META_PREFIX, OPAQUE_MARKER, WHITEOUT_PREFIX } from './oci-names';
import { setOpaque, setOpaqueSync } from './opaque';
import { runAsync, runSync, step, type Walk } from './sync-or-async';
import { whiteout, whiteoutSync } from './whiteout';

export interface FromOciOptions {
  /** The whiteouts to make: 'chardev' (default) or 'xattr' (for a layer mounted as a lower, 6.7+). */
  kind?: WhiteoutKind;
  /** Write user.overlay.* marks instead of trusted.overlay.*. */
  userxattr?: boolean;
}

interface Plan {
  markers: string[];
  whiteouts: string[];
  opaque: string[];
}

function* planDir(root: string, rel: string, markedOpaque: boolean, plan: Plan): Walk<void> {
  const names = yield* step(readdirStep(path.join(root, rel)));
  const here = new Set(names);
  const opaque = markedOpaque || here.has(OPAQUE_MARKER);
  if (here.has(OPAQUE_MARKER)) plan.markers.push(joinRel(rel, OPAQUE_MARKER));
  if (opaque) plan.opaque.push(rel === '' ? '.' : rel);
  // Names the layer deletes and holds again: a directory among them replaces the lowers' one wholesale.
  const replaced = new Set<string>();
  for (const name of names) {
    if (name === OPAQUE_MARKER || !name.startsWith(WHITEOUT_PREFIX)) continue;
    const child = joinRel(rel, name);
    if (name.startsWith(META_PREFIX)) throw layerRefusal(child, `'${name}' is tooling metadata (aufs), not an OCI whiteout`);
    const target = name.slice(WHITEOUT_PREFIX.length);
    if (target === '' || target === '.' || target === '..') throw layerRefusal(child, `'${name}' names no entry`);
    const st = yield* step(lstatStep(path.join(root, child)));
    if (st?.isDirectory()) throw layerRefusal(child, `whiteout marker '${name}' is a directory`);
    plan.markers.push(child);
    if (here.has(target)) replaced.add(target);
    else if (!opaque) plan.whiteouts.push(joinRel(rel, target));
  }
  for (const name of names) {
    if (name.startsWith(WHITEOUT_PREFIX)) continue;
    const child = joinRel(rel, name);
    const st = yield* step(lstatStep(path.join(root, child)));
    if (st?.isDirectory()) yield* planDir(root, child, replaced.has(name), plan);
  }
}

function* convertWalk(root: string, options: FromOciOptions | undefined): Walk<void> {
  const o = checkKnownOptions(options, ['kind', 'userxattr']);
  const marks = { root, userxattr: checkBoolean('userxattr', o.userxattr) };
  const kind = checkChoice<WhiteoutKind>('kind', o.kind, ['chardev', 'xattr']) ?? 'chardev';
  const top = yield* step(lstatStep(root));
  if (!top?.isDirectory()) throw layerRefusal('', `'${root}' is not a directory`);
  const plan: Plan = { markers: [], whiteouts: [], opaque: [] };
  yield* planDir(root, '', false, plan);
  for (const marker of plan.markers) {
    const file = path.join(root, marker);
    yield* step(fsStep(() => fs.unlinkSync(file), () => fs.promises.unlink(file)));
  }
  const opts = { ...marks, kind, force: true };
  for (const rel of plan.whiteouts) yield* step(fsStep(() => whiteoutSync(rel, opts), () => whiteout(rel, opts)));
  for (const rel of plan.opaque) yield* step(fsStep(() => setOpaqueSync(rel, marks), () => setOpaque(rel, marks)));
}

/**
 * Converts the unpacked OCI layer `dir` in place to overlay form. The whole
 * tree is checked before anything changes; a name it cannot convert (aufs
 * `.wh..wh.*` metadata, a marker that is a directory) is refused, naming it.
 */
export async function fromOci(dir: string, options?: FromOciOptions): Promise<void> {
  await runAsync(convertWalk(path.resolve(checkPath('dir', dir)), options));
}

/** Synchronous twin of {@link fromOci}. */
export function fromOciSync(dir: string, options?: FromOciOptions): void {
  runSync(convertWalk(path.resolve(checkPath('dir', dir)), options));
}
