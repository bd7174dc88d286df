// Names that are not valid UTF-8 (the library gives them as Buffers), printed
// on one line the way mountinfo escapes: every byte that is not printable
// ASCII, or is a space or a backslash, as `\NNN` octal. The bytes can be read
// back exactly (printf '%b').
import { escapeName } from './display';

export function escapeBytes(name: Buffer): string {
  let out = '';
  for (const byte of name) {
    const printable = byte > 0x20 && byte < 0x7f && byte !== 0x5c;
    out += printable ? String.fromCharCode(byte) : '\\' + byte.toString(8).padStart(3, '0');
  }
  return out;
}

/** A name from the library, a string or (not UTF-8) a Buffer, escaped for a terminal. */
export function escapeAnyName(name: string | Buffer): string {
  return typeof name === 'string' ? escapeName(name) : escapeBytes(name);
}

/** A name for JSON: a string as it is; a Buffer as its bytes escaped, with the exact bytes in base64 beside. */
export function jsonName(name: string | Buffer): { path: string; pathBase64?: string } {
  return typeof name === 'string' ? { path: name } : { path: escapeBytes(name), pathBase64: name.toString('base64') };
}
