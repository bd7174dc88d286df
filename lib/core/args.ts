// Argument checks every call shares (as native/util/args.h is for the addon), so
// a refusal has one shape wherever it comes from: a value of the wrong
// JavaScript type is a TypeError with code ERR_INVALID_ARG_TYPE and `field`;
// a well-typed value the call cannot take, or a key it does not know, is an
// OverlayError (EINVAL) naming `field`.
import path from 'node:path';
import { invalid, type OverlayError } from './errors';

export type InvalidArgType = TypeError & { code: 'ERR_INVALID_ARG_TYPE'; field: string };

/** A value as a person would write it, with its type: `the number NaN`, `the bigint 12n`, `null`, `an array`. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return String(value);
    case 'bigint':
      return `the bigint ${value}n`;
    case 'string':
      return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
    case 'symbol':
      return value.toString();
    case 'function':
      return 'a function';
    default:
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
  }
}

export function typeError(field: string, expected: string, value: unknown, got = describeValue(value)): InvalidArgType {
  const err = new TypeError(`${field} must be ${expected}, got ${got}`) as InvalidArgType;
  err.code = 'ERR_INVALID_ARG_TYPE';
  err.field = field;
  return err;
}

/** An options argument: left out it is `{}`; anything but a plain object is refused. */
export function checkOptionsObject<T extends object>(field: string, value: T | undefined): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(field, 'an object', value);
  return value;
}

export function unknownOption(key: string, known: ReadonlySet<string>, call: string): OverlayError {
  return invalid(key, `is not an option of ${call} (known: ${[...known].join(', ')})`);
}

/** Refuses a key the call does not know, so a typo (`readonly`) never silently changes meaning. */
export function checkKnownKeys(options: object, known: ReadonlySet<string>, call: string, prefix = ''): void {
  for (const key in options) {
    if (!known.has(key)) throw unknownOption(`${prefix}${key}`, known, call);
  }
}

/** An options argument whose every key the call knows (left out: `{}`), ready to read. */
export function checkOptions<T extends object>(options: T | undefined, known: readonly string[], call: string): Partial<Record<keyof T, unknown>> {
  const o = checkOptionsObject('options', options);
  checkKnownKeys(o, new Set(known), call);
  return o as Partial<Record<keyof T, unknown>>;
}

// Already absolute, without '//', '.', '..' or a trailing '/': path.resolve
// would return it unchanged, so skip its re-parse (measurable at 500 layers).
const NOT_NORMAL = /\/\/|\/\.\.?(?:\/|$)|.\/$/;
export function isNormalAbsolute(value: unknown): value is string {
  return typeof value === 'string' && value.charCodeAt(0) === 0x2f && !value.includes('\0') && !NOT_NORMAL.test(value);
}

/** A path: a non-empty string without NUL, made absolute. */
export function checkPath(field: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(field, 'a path string', value);
  if (value === '') throw invalid(field, 'must not be empty');
  if (value.includes('\0')) throw invalid(field, 'must not contain a NUL byte', undefined, value);
  return isNormalAbsolute(value) ? value : path.resolve(value);
}

/** An array whose every slot is filled: a hole (`[a, , b]`) is refused, not read as undefined. */
export function checkArray(field: string, value: unknown, expected: string): unknown[] {
  if (!Array.isArray(value)) throw typeError(field, expected, value);
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) throw typeError(`${field}[${i}]`, 'a value', undefined, 'an empty slot (a hole in the array)');
  }
  return value;
}

export function checkBoolean(field: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw typeError(field, 'a boolean', value);
  return value;
}

export function checkChoice<T extends string>(field: string, value: unknown, choices: readonly string[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !choices.includes(value)) {
    throw invalid(field, `must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describeValue(value)}`);
  }
  return value as T;
}
