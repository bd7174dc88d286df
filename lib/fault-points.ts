// Named points inside multi-step layer operations where a test can make the
// next step fail, to prove that the operation undoes what it did. Only tests
// arm them (this module is not exported from the package's entry point).
import { OverlayError } from './errors';

const EIO = 5;
const armed = new Map<string, number>();

/** Makes the `after`-th pass (0: the first) through point `name` fail with EIO, once. */
export function armFault(name: string, after = 0): void {
  armed.set(name, after);
}

export function disarmFaults(): void {
  armed.clear();
}

/** Called at point `name`: throws when a test armed it and its count is reached. */
export function faultPoint(name: string): void {
  const left = armed.get(name);
  if (left === undefined) return;
  if (left > 0) {
    armed.set(name, left - 1);
    return;
  }
  armed.delete(name);
  throw new OverlayError({ errno: EIO, reason: `injected failure at ${name}` });
}
