// Everything about a layer a conversion could change, as one comparable
// value: each entry's type, mode, owner, size, content or link target, times
// (mtime; but directories' own, which any change inside moves; atime moves
// when this reads a file) and xattrs. Names are read as bytes (keys are
// their latin1 spelling), so a name that is not UTF-8 is seen as it is.
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { xattrsOf } from '../helpers/xattr';

export function layerState(dir: string, rel: Buffer = Buffer.alloc(0), out: Record<string, string> = {}): Record<string, string> {
  const file = rel.length ? Buffer.concat([Buffer.from(dir + '/'), rel]) : Buffer.from(dir);
  const key = rel.length ? rel.toString('latin1') : '.';
  const st = fs.lstatSync(file, { bigint: true });
  // The addon's xattr reader takes string paths: a name that is not UTF-8 shows its xattrs as unknown.
  const xattrs = isUtf8(file)
    ? Object.entries(xattrsOf(file.toString()))
        .map(([n, v]) => `${n}=${v.toString('hex')}`)
        .sort()
        .join(',')
    : '?';
  const common = `mode=${st.mode.toString(8)} owner=${st.uid}:${st.gid} xattrs=[${xattrs}]`;
  if (st.isDirectory()) {
    out[key] = `dir ${common}`;
    const names = fs.readdirSync(file, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) layerState(dir, rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name, out);
  } else if (st.isSymbolicLink()) {
    out[key] = `symlink ${common} -> ${fs.readlinkSync(file, { encoding: 'buffer' }).toString('hex')} mtime=${st.mtimeNs}`;
  } else if (st.isFile()) {
    out[key] = `file ${common} size=${st.size} mtime=${st.mtimeNs} ${fs.readFileSync(file).toString('hex')}`;
  } else {
    out[key] = `other ${common} rdev=${st.rdev}`;
  }
  return out;
}
