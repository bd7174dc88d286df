// Options objects are strict: a key the call does not know (a typo such as
// `userXattr`) is refused, naming it, before anything is touched, so a typo
// never silently changes what the call does. (A local check for the layer
// tools; the lead may fold it into a shared module.)
import { invalid } from './errors';
import { typeError } from './validate';

/** The options object itself (undefined: none), with every own key checked against `known`. */
export function checkKnownOptions<T extends object>(options: T | undefined, known: readonly string[]): Partial<Record<keyof T, unknown>> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw typeError('options', 'an object', options);
  for (const key of Reflect.ownKeys(options)) {
    const name = typeof key === 'symbol' ? key.toString() : key;
    if (typeof key === 'symbol' || !known.includes(key)) {
      throw invalid(name, `is not an option of this call (known: ${known.join(', ')})`);
    }
  }
  return options;
}
