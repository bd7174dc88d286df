// A directory tree as plain data (names, types, contents, link targets), so
// two trees, or a merged mount and the tree it should equal, compare with t.same.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type TreeEntry = { type: 'dir' } | { type: 'file'; content: string; mode: number } | { type: 'symlink'; target: string } | { type: 'other'; rdev: number };

/** Every entry beneath `dir`, keyed by its path relative to `dir`; symlinks are not followed. */
export function snapshot(dir: string, rel = '', out: Record<string, TreeEntry> = {}): Record<string, TreeEntry> {
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const child = rel ? `${rel}/${name}` : name;
    const full = path.join(dir, child);
    const st = fs.lstatSync(full);
    if (st.isDirectory()) {
      out[child] = { type: 'dir' };
      snapshot(dir, child, out);
    } else if (st.isFile()) out[child] = { type: 'file', content: fs.readFileSync(full, 'utf8'), mode: st.mode & 0o7777 };
    else if (st.isSymbolicLink()) out[child] = { type: 'symlink', target: fs.readlinkSync(full) };
    else out[child] = { type: 'other', rdev: st.rdev };
  }
  return out;
}

/**
 * Applies an unpacked OCI layer to `target` by hand, as image-spec layer.md
 * describes it: in each directory the deletions first (`.wh..wh..opq` empties
 * it, `.wh.NAME` removes NAME), then the layer's entries replace what is there.
 */
export function applyOciByHand(layer: string, target: string): void {
  const names = fs.readdirSync(layer);
  if (names.includes('.wh..wh..opq')) for (const old of fs.readdirSync(target)) fs.rmSync(path.join(target, old), { recursive: true });
  for (const name of names) if (name.startsWith('.wh.') && name !== '.wh..wh..opq') fs.rmSync(path.join(target, name.slice(4)), { recursive: true, force: true });
  for (const name of names) {
    if (name.startsWith('.wh.')) continue;
    const from = path.join(layer, name);
    const to = path.join(target, name);
    const st = fs.lstatSync(from);
    const there = fs.lstatSync(to, { throwIfNoEntry: false });
    if (there && !(st.isDirectory() && there.isDirectory())) fs.rmSync(to, { recursive: true });
    if (st.isDirectory()) {
      if (!there?.isDirectory()) fs.mkdirSync(to);
      applyOciByHand(from, to);
    } else if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else fs.copyFileSync(from, to);
  }
}
