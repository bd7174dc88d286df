// One algorithm, two drivers: a layer walk is written once as a generator
// that yields each file-system step, and runs either synchronously or with
// every step awaited. This keeps the Promise and *Sync twins from drifting.

/** One file-system step, in both forms. */
export interface Step<T> {
  sync(): T;
  async(): Promise<T>;
}

export type Walk<R> = Generator<Step<unknown>, R, unknown>;

/** A step that is the same operation written for both drivers: `fsStep(() => fs.statSync(p), () => fs.promises.stat(p))`. */
export function fsStep<T>(sync: () => T, async: () => Promise<T>): Step<T> {
  return { sync, async };
}

/** Inside a walk: `const st = yield* step(lstatStep(p))`, typed. */
export function* step<T>(s: Step<T>): Generator<Step<unknown>, T, unknown> {
  return (yield s as Step<unknown>) as T;
}

export function runSync<R>(walk: Walk<R>): R {
  let next = walk.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = next.value.sync();
    } catch (err) {
      next = walk.throw(err);
      continue;
    }
    next = walk.next(value);
  }
  return next.value;
}

export async function runAsync<R>(walk: Walk<R>): Promise<R> {
  let next = walk.next();
  while (!next.done) {
    let value: unknown;
    try {
      value = await next.value.async();
    } catch (err) {
      next = walk.throw(err);
      continue;
    }
    next = walk.next(value);
  }
  return next.value;
}
