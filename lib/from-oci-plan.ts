// fromOci's first stage: the whole unpacked OCI layer read and checked, and
// what converting it will do written down, before anything is changed.
import * as path from 'node:path';
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { fsStep, lstatStep } from './layer-steps';
import { joinRel } from './lower-lookup';
import { layerRefusal, META_PREFIX, OPAQUE_MARKER, WHITEOUT_PREFIX } from './oci-names';
import { step, type Walk } from './sync-or-async';

export interface Marker {
  rel: string;
  st: fs.Stats;
}

export interface ConversionPlan {
  /** `.wh.*` files to remove, with their lstat, so a failed conversion can put them back. */
  markers: Marker[];
  /** Whiteouts to make, relative to the layer. */
  whiteouts: string[];
  /** Directories to mark opaque ('.' for the layer itself). */
  opaque: string[];
  /** Every directory that will be written in, for the check that it can be. */
  written: Set<string>;
}

// Names as bytes: one that is not UTF-8 is refused by name (its bytes escaped),
// never read back under a U+FFFD look-alike and silently left unconverted.
function* namesIn(root: string, rel: string): Walk<string[]> {
  const dir = path.join(root, rel);
  const raw = yield* step(fsStep(() => fs.readdirSync(dir, { encoding: 'buffer' }), () => fs.promises.readdir(dir, { encoding: 'buffer' })));
  for (const name of raw) {
    if (isUtf8(name)) continue;
    const shown = [...name].map((b) => (b > 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : '\\' + b.toString(8).padStart(3, '0'))).join('');
    throw layerRefusal(joinRel(rel, shown), `'${shown}' is not valid UTF-8: fromOci does not convert such names yet (nothing was changed)`);
  }
  return raw.map((name) => name.toString('utf8')).sort();
}

function* planDir(root: string, rel: string, markedOpaque: boolean, plan: ConversionPlan): Walk<void> {
  const names = yield* namesIn(root, rel);
  const here = new Set(names);
  const dirRel = rel === '' ? '.' : rel;
  const opaque = markedOpaque || here.has(OPAQUE_MARKER);
  if (opaque) plan.opaque.push(dirRel);
  // Names the layer deletes and holds again: a directory among them replaces the lowers' one wholesale.
  const replaced = new Set<string>();
  for (const name of names) {
    if (!name.startsWith(WHITEOUT_PREFIX)) continue;
    const child = joinRel(rel, name);
    const isOpaqueMarker = name === OPAQUE_MARKER;
    if (!isOpaqueMarker && name.startsWith(META_PREFIX)) throw layerRefusal(child, `'${name}' is tooling metadata (aufs), not an OCI whiteout`);
    const target = name.slice(WHITEOUT_PREFIX.length);
    if (!isOpaqueMarker && (target === '' || target === '.' || target === '..')) throw layerRefusal(child, `'${name}' names no entry`);
    const st = yield* step(lstatStep(path.join(root, child)));
    if (st === undefined) continue;
    if (st.isDirectory()) throw layerRefusal(child, `whiteout marker '${name}' is a directory`);
    // Only what Node can make again is removed, so a failed conversion can put every marker back.
    if (!st.isFile() && !st.isSymbolicLink()) throw layerRefusal(child, `whiteout marker '${name}' is not a file or a symlink`);
    plan.markers.push({ rel: child, st });
    plan.written.add(dirRel);
    if (isOpaqueMarker) continue;
    if (here.has(target)) replaced.add(target);
    else if (!opaque) plan.whiteouts.push(joinRel(rel, target));
  }
  if (opaque) plan.written.add(dirRel);
  for (const name of names) {
    if (name.startsWith(WHITEOUT_PREFIX)) continue;
    const child = joinRel(rel, name);
    const st = yield* step(lstatStep(path.join(root, child)));
    if (st?.isDirectory()) yield* planDir(root, child, replaced.has(name), plan);
  }
}

/** Reads and checks the layer at `root`; throws, naming the entry, on a name it cannot convert. */
export function* planConversion(root: string): Walk<ConversionPlan> {
  const plan: ConversionPlan = { markers: [], whiteouts: [], opaque: [], written: new Set() };
  yield* planDir(root, '', false, plan);
  return plan;
}
