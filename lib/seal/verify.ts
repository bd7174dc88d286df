// verify(store, images?) / verifySync: a sealed store checked whole. An
// object's name is its fs-verity digest, so each `xx/<62 hex>` file is
// measured in user space and compared with its name: a changed byte shows
// whether or not the store's filesystem has fs-verity (with it, the kernel
// refuses to read a changed object, which shows as `EIO`). Each image given
// is mounted detached and read-only, and each of its files whose redirect
// leads to no object is named.
import { getSystemErrorName } from 'node:util';
import { checkArray, checkPath } from '../core/args';
import { native } from '../core/native';
import { runAsync, runSync, step, type Walk } from '../core/sync-or-async';

/** One object of a store that no longer holds what its name says, or that an image needs and the store lacks. */
export interface StoreProblem {
  /** The object's path, `STORE/xx/<62 hex>`. */
  path: string;
  /** 'mismatch': its content has another digest; 'missing': an image needs it and it is not there; else the errno code that kept it from being read ('EIO'). */
  reason: string;
  /** Its content's digest now, `sha256:<hex>`, for a mismatch. */
  digest?: string;
  /** For 'missing': the image and the file in it (from the image's root) whose redirect leads there. */
  image?: string;
  file?: string;
}

export interface VerifyResult {
  /** True when every object matched its name and no image lacks one. */
  ok: boolean;
  /** How many objects were measured. */
  objects: number;
  problems: StoreProblem[];
}

function* verifyWalk(store: string, images: string[]): Walk<VerifyResult> {
  const [objects, wrong] = yield* step({ sync: () => native.verifyStoreSync(store), async: () => native.verifyStore(store) });
  const problems = wrong.map(([object, errnum, actual]): StoreProblem => {
    const problem: StoreProblem = { path: `${store}/${object}`, reason: errnum === 0 ? 'mismatch' : getSystemErrorName(-errnum) };
    if (errnum === 0) problem.digest = `sha256:${actual}`;
    return problem;
  });
  for (const [i, image] of images.entries()) {
    const field = `images[${i}]`;
    const missing = yield* step({ sync: () => native.missingObjectsSync(image, store, field), async: () => native.missingObjects(image, store, field) });
    for (const [object, file] of missing) problems.push({ path: `${store}/${object}`, reason: 'missing', image, file });
  }
  return { ok: problems.length === 0, objects, problems };
}

function checked(store: unknown, images: unknown): [string, string[]] {
  const list = images === undefined ? [] : checkArray('images', images, 'an array of image paths');
  return [checkPath('store', store), list.map((image, i) => checkPath(`images[${i}]`, image))];
}

/** Measures every object of `store` against its name, and names each file of `images` whose object is missing; off the event loop. */
export async function verify(store: string, images?: string[]): Promise<VerifyResult> {
  return runAsync(verifyWalk(...checked(store, images)));
}

/** Synchronous twin of {@link verify}. */
export function verifySync(store: string, images?: string[]): VerifyResult {
  return runSync(verifyWalk(...checked(store, images)));
}
