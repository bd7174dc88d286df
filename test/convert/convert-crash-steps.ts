// What the convert crash tests share: the trees converted, the rerun in this
// process and what it must leave after a kill (convert-crash.test.ts
// kills at failure points, convert-kill9.test.ts with a real kill -9).
import * as fs from 'node:fs';
import type { Test } from 'tap';
import { setOpaqueSync, toOciSync, whiteoutSync } from '../../lib/index';
import type { Scratch } from '../helpers/scratch';
import { snapshot } from '../helpers/tree';

export function writeUpper(s: Scratch, dir: string, files: number): void {
  const tree: Record<string, string> = { [`${dir}/d/x`]: 'x', [`${dir}/d/sub/y`]: 'y', [`${dir}/o/kept`]: 'k' };
  for (let i = 0; i < files; i++) tree[`${dir}/f${String(i).padStart(4, '0')}`] = `file ${i}`;
  s.write(tree);
  whiteoutSync('gone', { root: s.path(dir) });
  whiteoutSync('d/gone', { root: s.path(dir) });
  setOpaqueSync('o', { root: s.path(dir) });
}

export function writeOciLayer(s: Scratch, dir: string, markers: number): void {
  const tree: Record<string, string> = { [`${dir}/a/kept`]: 'k', [`${dir}/b/.wh..wh..opq`]: '', [`${dir}/b/new`]: 'n', [`${dir}/b/c/.wh.deep`]: '', [`${dir}/r/.wh..wh..opq`]: '' };
  for (let i = 0; i < markers; i++) tree[`${dir}/a/.wh.g${String(i).padStart(4, '0')}`] = '';
  tree[`${dir}/.wh.r`] = '';
  s.write(tree);
}

// Every entry under the scratch directory, but the inside of the trees the test expects.
export function entriesBeside(s: Scratch, trees: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(s.path(rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      out.push(child);
      if (!trees.includes(child) && fs.lstatSync(s.path(child)).isDirectory()) walk(child);
    }
  };
  walk('');
  return out;
}

// The rerun after a kill: a success, or (the kill came after the result was
// complete) the refusal a second run of an uninterrupted convert gives.
// Run in this process: the killed CLI called toOci, and what a rerun finds
// and removes is toOci's (the CLI's own words are cli/ tests').
export function rerunToOci(t: Test, s: Scratch, dest: string): void {
  try {
    toOciSync(s.path('up'), s.path(dest));
  } catch (err) {
    t.match((err as Error).message, /^(EEXIST|ENOTEMPTY): dest: .* (exists|is not empty)/, 'refused only as after a complete run');
  }
  t.same(snapshot(s.path(dest)), snapshot(s.path('ref')), 'the result is what an uninterrupted convert gives');
  t.same(entriesBeside(s, ['up', 'ref', dest]), ['ref', 'up', dest].sort(), 'nothing else is left');
}
