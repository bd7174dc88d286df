// A tree listed entry for entry, for comparing a mounted image with its peer
// (podman image mount) or with the stack it was committed from: type, mode,
// owner, size, content, link target, mtime (to the millisecond), extended
// attributes; hard links as the group of names sharing an inode.
import * as fs from 'node:fs';
import { xattrsOf } from '../../helpers/xattr';

function xattrText(p: string): string {
  const xattrs = Object.entries(xattrsOf(p)).sort(([a], [b]) => (a < b ? -1 : 1));
  return xattrs.length === 0 ? '' : ` xattrs ${xattrs.map(([name, value]) => `${name}=${value.toString('hex')}`).join(',')}`;
}

export function listing(root: string): string[] {
  const rows: string[] = [];
  const inodes = new Map<number, string[]>();
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(`${root}/${rel}`).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(`${root}/${p}`);
      const what = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `-> ${fs.readlinkSync(`${root}/${p}`)}` : st.isFile() ? `file ${fs.readFileSync(`${root}/${p}`, 'utf8')}` : `other ${st.rdev}`;
      rows.push(`${p} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '' : st.size} ${st.isSymbolicLink() ? '' : Math.floor(st.mtimeMs)} ${what}${xattrText(`${root}/${p}`)}`);
      if (st.isFile() && st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), p]);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return [...rows, ...[...inodes.values()].map((names) => `linked: ${names.join(' ')}`)];
}
