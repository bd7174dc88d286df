// Node decodes command-line arguments as UTF-8 and turns bytes that are not
// into U+FFFD, so a name such as 'caf\xe9' would silently become another one.
// The kernel keeps the exact bytes in /proc/self/cmdline: an argument that
// holds U+FFFD is looked up there and given back as its bytes.
import fs from 'node:fs';
import { escapeBytes } from './escape-bytes';
import { UsageError } from './usage-error';

let cached: Buffer[] | null | undefined;

// The arguments after the script, raw; null when /proc is not there.
function rawArguments(): Buffer[] | null {
  if (cached !== undefined) return cached;
  try {
    const all = fs.readFileSync('/proc/self/cmdline');
    const parts: Buffer[] = [];
    for (let at = 0; at < all.length; ) {
      const end = all.indexOf(0, at);
      parts.push(all.subarray(at, end === -1 ? all.length : end));
      at = end === -1 ? all.length : end + 1;
    }
    const count = process.argv.length - 2;
    cached = parts.length >= count ? parts.slice(parts.length - count) : null;
  } catch {
    cached = null;
  }
  return cached;
}

/**
 * The argument `value` as it was given: the string itself when it holds no
 * U+FFFD, else the bytes behind it (a string again if they are UTF-8, as when
 * U+FFFD was really typed). An argument of an option written `--name=VALUE`
 * is found too. Refuses (UsageError) when the bytes cannot be told apart.
 */
export function rawArgument(value: string, what: string): string | Buffer {
  if (!value.includes('\uFFFD')) return value;
  const raw = rawArguments();
  const decoded = process.argv.slice(2);
  const found: Buffer[] = [];
  decoded.forEach((arg, i) => {
    const bytes = raw?.[i];
    if (bytes === undefined) return;
    if (arg === value) found.push(bytes);
    else if (arg.startsWith('--') && arg.endsWith('=' + value)) found.push(bytes.subarray(bytes.indexOf(0x3d) + 1));
  });
  const first = found[0];
  if (first === undefined) throw new UsageError(`${what} is not valid UTF-8, and its bytes cannot be read from /proc/self/cmdline`);
  if (!found.every((b) => b.equals(first))) throw new UsageError(`${what} is not valid UTF-8, and other arguments decode to the same text: give each once`);
  return first.toString('utf8') === value && Buffer.from(value).equals(first) ? value : Buffer.from(first);
}

/** For commands that take names only as text: refuse an argument that is not valid UTF-8, naming its bytes. */
export function textArgument(value: string, what: string): string {
  const raw = rawArgument(value, what);
  if (typeof raw === 'string') return raw;
  throw new UsageError(`${what} '${escapeBytes(raw)}' is not valid UTF-8, which this command cannot take as a name (ovl diff can)`);
}
