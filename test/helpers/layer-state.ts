// Everything about a layer a conversion could change, as one comparable
// value: each entry's type, mode, owner, size, content or link target, times
// (mtime; but directories' own, which any change inside moves; atime moves
// when this reads a file) and xattrs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { xattrsOf } from './xattr';

export function layerState(dir: string, rel = '', out: Record<string, string> = {}): Record<string, string> {
  const file = path.join(dir, rel);
  const st = fs.lstatSync(file, { bigint: true });
  const xattrs = Object.entries(xattrsOf(file)).map(([n, v]) => `${n}=${v.toString('hex')}`).sort().join(',');
  const common = `mode=${st.mode.toString(8)} owner=${st.uid}:${st.gid} xattrs=[${xattrs}]`;
  if (st.isDirectory()) {
    out[rel || '.'] = `dir ${common}`;
    for (const name of fs.readdirSync(file).sort()) layerState(dir, rel ? `${rel}/${name}` : name, out);
  } else if (st.isSymbolicLink()) {
    out[rel] = `symlink ${common} -> ${fs.readlinkSync(file)} mtime=${st.mtimeNs}`;
  } else if (st.isFile()) {
    out[rel] = `file ${common} size=${st.size} mtime=${st.mtimeNs} ${fs.readFileSync(file).toString('hex')}`;
  } else {
    out[rel] = `other ${common} rdev=${st.rdev}`;
  }
  return out;
}
