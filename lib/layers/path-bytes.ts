// Paths as bytes for the layer tools' own path work (a parent, a sibling's
// name): a Buffer path whose bytes are not UTF-8 is split and joined as
// bytes, never decoded, so every fs call acts on exactly the name given.
import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import type { PathLike } from './layer-names';

const SLASH = 0x2f;

/**
 * An absolute path from checkPathLike in one canonical form: a string when
 * its bytes are UTF-8 (path.resolve'd), else a Buffer resolved the same
 * lexical way ('.', '..' and repeated slashes dropped).
 */
export function canonicalPath(p: PathLike): PathLike {
  if (!Buffer.isBuffer(p)) return path.resolve(p);
  if (isUtf8(p)) return path.resolve(p.toString('utf8'));
  const parts: Buffer[] = [];
  for (let at = 0; at < p.length; ) {
    let end = p.indexOf(SLASH, at);
    if (end === -1) end = p.length;
    const part = p.subarray(at, end);
    at = end + 1;
    if (part.length === 0 || part.equals(Buffer.from('.'))) continue;
    if (part.equals(Buffer.from('..'))) parts.pop();
    else parts.push(part);
  }
  return Buffer.concat(parts.flatMap((part) => [Buffer.from('/'), part]));
}

/** The directory holding the canonical path `p` ('/' for '/'). */
export function parentOf(p: PathLike): PathLike {
  if (!Buffer.isBuffer(p)) return path.dirname(p);
  const slash = p.lastIndexOf(SLASH);
  return slash <= 0 ? Buffer.from('/') : p.subarray(0, slash);
}

/** The last component of the canonical path `p`. */
export function baseOf(p: PathLike): PathLike {
  if (!Buffer.isBuffer(p)) return path.basename(p);
  return p.subarray(p.lastIndexOf(SLASH) + 1);
}

/**
 * `dir` + '/' + `name`, as a string when both are strings, else as bytes.
 * Never normalised: `x/..` must go up from where the kernel finds `x`.
 */
export function joinPath(dir: PathLike, name: PathLike): PathLike {
  if (typeof dir === 'string' && typeof name === 'string') return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
  const d = Buffer.from(dir);
  return Buffer.concat([d, d[d.length - 1] === SLASH ? Buffer.alloc(0) : Buffer.from('/'), Buffer.from(name)]);
}
