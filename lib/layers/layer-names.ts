// Names as bytes: a layer may hold names that are not valid UTF-8, and the
// layer tools must never drop, change or merge one. Paths are taken as
// strings or Buffers; names come back as strings when they are valid UTF-8
// and as Buffers of the exact bytes when not, so each one round-trips
// through any fs call.
import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import { invalid } from '../core/errors';
import { checkPath, typeError } from '../core/args';

/** A path as the API takes it: a string, or a Buffer holding its bytes. */
export type PathLike = string | Buffer;

const SLASH = 0x2f;

/** A path argument, made absolute: a string checked as every path is, or a Buffer of its bytes. */
export function checkPathLike(field: string, value: unknown): PathLike {
  if (!Buffer.isBuffer(value)) {
    if (typeof value !== 'string') throw typeError(field, 'a path string or Buffer', value);
    return path.resolve(checkPath(field, value));
  }
  if (value.length === 0) throw invalid(field, 'must not be empty');
  if (value.includes(0)) throw invalid(field, 'must not contain a NUL byte');
  return value[0] === SLASH ? value : Buffer.concat([Buffer.from(process.cwd() + '/'), value]);
}

/** A path for a message: the bytes decoded, any that are not UTF-8 as U+FFFD (display only). */
export function displayPath(p: PathLike): string {
  return typeof p === 'string' ? p : p.toString('utf8');
}

/** A name read from a layer: a string when its bytes are UTF-8, else the bytes themselves. */
export function decodeName(bytes: Buffer): string | Buffer {
  return isUtf8(bytes) ? bytes.toString('utf8') : Buffer.from(bytes);
}

/**
 * Splits NUL-ended names packed in one Buffer, as the addon returns a walk,
 * decoding each with decodeName.
 */
export function unpackNames(packed: Buffer): Array<string | Buffer> {
  const out: Array<string | Buffer> = [];
  // Valid UTF-8 as a whole (the usual case): one decode, then split the string.
  if (isUtf8(packed)) {
    const text = packed.toString('utf8');
    let at = 0;
    for (let end = text.indexOf('\0'); end !== -1; end = text.indexOf('\0', at)) {
      out.push(text.slice(at, end));
      at = end + 1;
    }
    return out;
  }
  let at = 0;
  for (let end = packed.indexOf(0); end !== -1; end = packed.indexOf(0, at)) {
    out.push(decodeName(packed.subarray(at, end)));
    at = end + 1;
  }
  return out;
}
