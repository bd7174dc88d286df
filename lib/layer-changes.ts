// What an upper layer changed against its lowers, as `docker diff` lists it:
// A added, C changed, D deleted.
import * as path from 'node:path';
import { checkBoolean, checkPath } from './validate';
import { checkKnownOptions } from './strict-options';
import { checkLowerDirs, checkMarksReadable, isWhiteoutLeftover } from './layer-checks';
import { lstatStep, mayBeWhiteout, opaqueStep, readdirStep, whiteoutStep } from './layer-steps';
import { joinRel, lowerChildren, lowerEntry } from './lower-lookup';
import { runAsync, runSync, step, type Walk } from './sync-or-async';

export type ChangeKind = 'A' | 'C' | 'D';

export interface LayerChange {
  /** Relative to the layer, with a leading '/': `/etc/motd`. */
  path: string;
  kind: ChangeKind;
}

export interface ChangesOptions {
  /** The lower layers the upper was made over, the top first; none: everything not a whiteout is A. */
  lower?: readonly string[];
  /** Read user.overlay.* marks instead of trusted.overlay.*. */
  userxattr?: boolean;
}

interface Request {
  upper: string;
  lowers: readonly string[];
  userxattr: boolean;
}

function toRequest(upper: string, options: ChangesOptions | undefined): Request {
  const o = checkKnownOptions(options, ['lower', 'userxattr']);
  const lower = o.lower ?? [];
  if (!Array.isArray(lower)) throw Object.assign(new TypeError('lower must be an array of paths'), { code: 'ERR_INVALID_ARG_TYPE', field: 'lower' });
  const req = {
    upper: path.resolve(checkPath('upper', upper)),
    lowers: lower.map((l: unknown, i) => path.resolve(checkPath(`lower[${i}]`, l))),
    userxattr: checkBoolean('userxattr', o.userxattr),
  };
  checkLowerDirs(req.lowers);
  checkMarksReadable(req.userxattr);
  return req;
}

function* walkDir(req: Request, rel: string, out: LayerChange[]): Walk<void> {
  const marks = { root: req.upper, userxattr: req.userxattr };
  const names = yield* step(readdirStep(path.join(req.upper, rel)));
  for (const name of names) {
    const child = joinRel(rel, name);
    const st = yield* step(lstatStep(path.join(req.upper, child)));
    if (st === undefined || isWhiteoutLeftover(name, st)) continue;
    if (mayBeWhiteout(st) && (yield* step(whiteoutStep(child, marks)))) {
      out.push({ path: '/' + child, kind: 'D' });
      continue;
    }
    const below = yield* lowerEntry(req.lowers, child, req.userxattr);
    out.push({ path: '/' + child, kind: below ? 'C' : 'A' });
    if (!st.isDirectory()) continue;
    // An opaque directory deletes what the lowers had directly beneath it, unless the upper has that name again.
    if (below?.isDirectory() && (yield* step(opaqueStep(child, marks))) === 'y') {
      const upperNames = new Set(yield* step(readdirStep(path.join(req.upper, child))));
      for (const gone of yield* lowerChildren(req.lowers, child, req.userxattr)) {
        if (!upperNames.has(gone)) out.push({ path: '/' + joinRel(child, gone), kind: 'D' });
      }
    }
    yield* walkDir(req, child, out);
  }
}

function* changesWalk(req: Request): Walk<LayerChange[]> {
  const out: LayerChange[] = [];
  yield* walkDir(req, '', out);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Lists what `upper` changed over `lower`, sorted by path. Whiteouts (either
 * kind) are D; an entry is C when the lowers show that path, A when not.
 * Symlinks are never followed, in the upper or the lowers.
 */
export async function changes(upper: string, options?: ChangesOptions): Promise<LayerChange[]> {
  return runAsync(changesWalk(toRequest(upper, options)));
}

/** Synchronous twin of {@link changes}. */
export function changesSync(upper: string, options?: ChangesOptions): LayerChange[] {
  return runSync(changesWalk(toRequest(upper, options)));
}
