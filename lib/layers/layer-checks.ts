// Checks the layer tools make before they read a layer, so a wrong answer is
// never given silently: lowers must be directories, and trusted.overlay.*
// marks need CAP_SYS_ADMIN to be seen at all.
import fs from 'node:fs';
import { OverlayError } from '../core/errors';
import { hasCapSysAdmin } from '../core/privilege';
import { displayPath, type PathLike } from './layer-names';

const EPERM = 1;
const ENOTDIR = 20;

/** Throws, naming `lower[i]`, unless every lower is a directory (followed, as a root given by the caller is). */
export function checkLowerDirs(lowers: readonly PathLike[]): void {
  lowers.forEach((lower, i) => {
    let st: fs.Stats;
    try {
      st = fs.statSync(lower);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new OverlayError({ errno: -(e.errno ?? 0), syscall: 'stat', path: displayPath(lower), field: `lower[${i}]` });
    }
    if (!st.isDirectory()) throw new OverlayError({ errno: ENOTDIR, path: displayPath(lower), field: `lower[${i}]`, reason: `'${displayPath(lower)}' is not a directory` });
  });
}

/**
 * Without CAP_SYS_ADMIN the kernel hides trusted.* xattrs: opaque marks and
 * xattr whiteouts would read as absent and deletions go missing. Refused
 * then, unless the layer's marks are user.overlay.* (`userxattr`).
 */
export function checkMarksReadable(userxattr: boolean): void {
  if (userxattr || hasCapSysAdmin()) return;
  throw new OverlayError({
    errno: EPERM,
    field: 'userxattr',
    reason: 'reading trusted.overlay.* marks needs CAP_SYS_ADMIN (without it the kernel shows none, and deletions would go missing); use userxattr for user.overlay.*',
  });
}
