// Shared by the whiteout and opaque tests: what they need from the machine,
// and a look for temporaries a failed replacement might have left behind.
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Resolver } from '../../lib/index';

/** Whiteouts need CAP_MKNOD, trusted.* xattrs CAP_SYS_ADMIN. */
export const needsRoot = { skip: process.getuid?.() !== 0 ? 'needs root (CAP_MKNOD, CAP_SYS_ADMIN for trusted.* xattrs)' : false };

/** Both ways of resolving beneath a root, so each behaviour is checked with each. */
export const RESOLVERS: readonly Resolver[] = ['openat2', 'walk'];

/** Why this kernel cannot honour xattr whiteouts (added in 6.7), or undefined when it can. */
export function whyNoXattrWhiteouts(): string | undefined {
  const [major = 0, minor = 0] = os.release().split(/[.-]/).map(Number);
  if (major < 6 || (major === 6 && minor < 7)) return `xattr whiteouts need Linux 6.7 or later, this is ${os.release()}`;
  return undefined;
}

/** Why tmpfs cannot hold user.* xattrs here (they came in Linux 6.6), or undefined. */
export function whyNoTmpfsUserXattrs(): string | undefined {
  const [major = 0, minor = 0] = os.release().split(/[.-]/).map(Number);
  if (major < 6 || (major === 6 && minor < 6)) return `tmpfs takes user.* xattrs from Linux 6.6, this is ${os.release()}`;
  return undefined;
}

/** Temporary names a forced replacement uses; none may stay behind. */
export function tempsIn(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.startsWith('.ovl-wh-'));
}

export function isCharDevice00(file: string): boolean {
  const st = fs.lstatSync(file);
  return st.isCharacterDevice() && st.rdev === 0;
}
