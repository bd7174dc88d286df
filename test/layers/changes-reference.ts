// An independent statement of the rules changes() follows, for tests: a
// plain recursive walk with fs calls, everything gathered and then sorted
// by bytes, as Docker's and Podman's diff would have it. It knows which
// entries carry overlay xattr marks from the test that made them (`marks`),
// so it needs no xattr reads.
import * as fs from 'node:fs';

export interface Marks {
  /** Full paths (bytes, hex) of zero-size files marked overlay.whiteout. */
  xattrWhiteouts: Set<string>;
  /** Full paths (bytes, hex) of directories marked opaque 'y'. */
  opaque: Set<string>;
}

export interface RefChange {
  path: Buffer;
  kind: 'A' | 'C' | 'D';
}

const join = (dir: Buffer, name: Buffer) => Buffer.concat([dir, Buffer.from('/'), name]);
const hex = (p: Buffer) => p.toString('hex');

function lstat(p: Buffer): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function isWhiteout(p: Buffer, st: fs.Stats, marks: Marks): boolean {
  if (st.isCharacterDevice()) return st.rdev === 0;
  return st.isFile() && st.size === 0 && marks.xattrWhiteouts.has(hex(p));
}

// Docker's directory times: equal, or equal seconds with one side whole, or one whole second apart.
function sameDirTime(a: fs.BigIntStats, b: fs.BigIntStats): boolean {
  const sa = a.mtimeNs / 1_000_000_000n;
  const na = a.mtimeNs % 1_000_000_000n;
  const sb = b.mtimeNs / 1_000_000_000n;
  const nb = b.mtimeNs % 1_000_000_000n;
  if (sa === sb && na === nb) return true;
  if (na !== 0n && nb !== 0n) return false;
  if (sa === sb) return true;
  if (nb === 0n && sa === sb - 1n) return true;
  return na === 0n && sa - 1n === sb;
}

export function referenceChanges(upper: string, lowers: string[], marks: Marks): RefChange[] {
  const out: RefChange[] = [];
  // Returns whether an addition or deletion lies beneath.
  const walk = (dir: Buffer, rel: Buffer, stack: Buffer[]): boolean => {
    let any = false;
    for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
      const p = join(dir, name);
      const r = join(rel, name);
      const st = fs.lstatSync(p, { bigint: true });
      if (isWhiteout(p, fs.lstatSync(p), marks)) {
        out.push({ path: r, kind: 'D' });
        any = true;
        continue;
      }
      // What the lowers show: the first layer wins; a whiteout, a non-directory or an opaque directory ends the stack.
      let found: { st: fs.Stats; path: Buffer } | undefined;
      const below: Buffer[] = [];
      for (const l of stack) {
        const lp = join(l, name);
        const ls = lstat(lp);
        if (!ls) continue;
        if (isWhiteout(lp, ls, marks)) break;
        found ??= { st: ls, path: lp };
        if (!ls.isDirectory() || !st.isDirectory()) break;
        below.push(lp);
        if (marks.opaque.has(hex(lp))) break;
      }
      if (st.isDirectory() && found && marks.opaque.has(hex(p))) {
        out.push({ path: r, kind: 'D' });
        any = true;
        walk(p, r, below);
        continue;
      }
      const entry: RefChange = { path: r, kind: found ? 'C' : 'A' };
      out.push(entry);
      if (!found) any = true;
      if (!st.isDirectory()) continue;
      const beneath = walk(p, r, below);
      any ||= beneath;
      if (found && !beneath) {
        // The lower side through a symlink, as Docker's os.Stat.
        const was = fs.statSync(found.path, { bigint: true, throwIfNoEntry: false });
        if (was && was.isDirectory() && was.mode === st.mode && was.size === st.size && sameDirTime(was, st)) {
          out.splice(out.indexOf(entry), 1);
        }
      }
    }
    return any;
  };
  walk(Buffer.from(upper), Buffer.alloc(0), lowers.map((l) => Buffer.from(l)));
  return out.sort((a, b) => Buffer.compare(a.path, b.path));
}
