// verify(store) / verifySync(store): a sealed store checked whole. An
// object's name is its fs-verity digest, so each `xx/<62 hex>` file is
// measured in user space and compared with its name: a changed byte shows
// whether or not the store's filesystem has fs-verity (with it, the kernel
// refuses to read a changed object, which shows as `EIO`).
import { getSystemErrorName } from 'node:util';
import { checkPath } from '../core/args';
import { native, type NativeStoreReport } from '../core/native';

/** One object of a store that no longer holds what its name says. */
export interface StoreProblem {
  /** The object's path, `STORE/xx/<62 hex>`. */
  path: string;
  /** 'mismatch': its content has another digest; else the errno code that kept it from being read ('EIO'). */
  reason: string;
  /** Its content's digest now, `sha256:<hex>`, for a mismatch. */
  digest?: string;
}

export interface VerifyResult {
  /** True when every object matched its name. */
  ok: boolean;
  /** How many objects were measured. */
  objects: number;
  problems: StoreProblem[];
}

function toResult(store: string, [objects, problems]: NativeStoreReport): VerifyResult {
  const out = problems.map(([object, errnum, actual]): StoreProblem => {
    const problem: StoreProblem = { path: `${store}/${object}`, reason: errnum === 0 ? 'mismatch' : getSystemErrorName(-errnum) };
    if (errnum === 0) problem.digest = `sha256:${actual}`;
    return problem;
  });
  return { ok: out.length === 0, objects, problems: out };
}

/** Measures every object of `store` against its name, off the event loop. */
export async function verify(store: string): Promise<VerifyResult> {
  const dir = checkPath('store', store);
  return toResult(dir, await native.verifyStore(dir));
}

/** Synchronous twin of {@link verify}. */
export function verifySync(store: string): VerifyResult {
  const dir = checkPath('store', store);
  return toResult(dir, native.verifyStoreSync(dir));
}
