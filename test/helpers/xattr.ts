// Extended attributes written and read through the test addon: the machine has no
// setfattr/getfattr, and the l* calls never follow a symlink.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { testAddon } from './test-addon';

export function setXattrs(file: string, xattrs: Record<string, string | Buffer>): void {
  for (const [name, value] of Object.entries(xattrs)) testAddon().writeXattrSync(file, name, Buffer.from(value));
}

/** Every xattr of `file` as name -> value; the LSM's own label (security.selinux, ...) is left out. */
export function xattrsOf(file: string): Record<string, Buffer> {
  const kept = testAddon().readXattrsSync(file).filter(([name]) => name === 'security.capability' || !name.startsWith('security.'));
  return Object.fromEntries(kept);
}

/** Each xattr name beneath `dir` (the dir too), as 'rel: name'. */
export function xattrNamesBeneath(dir: string, rel = ''): string[] {
  const here = Object.keys(xattrsOf(path.join(dir, rel))).map((name) => `${rel || '.'}: ${name}`);
  const st = fs.lstatSync(path.join(dir, rel));
  if (!st.isDirectory()) return here;
  return [...here, ...fs.readdirSync(path.join(dir, rel)).sort().flatMap((name) => xattrNamesBeneath(dir, rel ? `${rel}/${name}` : name))];
}
