// Security labels a Linux security module reads at mount time (SELinux:
// context=, fscontext=, defcontext=, rootcontext=), passed through to the
// kernel as Podman and CRI-O pass them. Overlay itself does not know them:
// the LSM takes them before overlay's parser sees them, and a kernel with no
// LSM that does refuses them ("Unknown parameter 'context'"), which is what
// the caller then hears.
import { invalid } from '../core/errors';
import { typeError } from '../core/args';

export const LSM_KEYS = ['context', 'fscontext', 'defcontext', 'rootcontext'] as const;
export type LsmKey = (typeof LSM_KEYS)[number];

/** Security labels for the new mount, each passed to the kernel as is (`context=...`). */
export interface LsmLabels {
  /** `context=`: the label of every file in the mount (SELinux: `system_u:object_r:container_file_t:s0:c1,c2`). */
  context?: string;
  /** `fscontext=`: the label of the filesystem itself. */
  fscontext?: string;
  /** `defcontext=`: the label of files that have none. */
  defcontext?: string;
  /** `rootcontext=`: the label of the root directory. */
  rootcontext?: string;
}

export function isLsmKey(key: string): key is LsmKey {
  return (LSM_KEYS as readonly string[]).includes(key);
}

/**
 * A label as the kernel gets it. It may hold ',' and ':' (an MCS range,
 * `s0:c1,c2`); mount(2) gets it between double quotes, so it cannot hold one.
 */
function checkLabel(field: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(field, 'a label string', value);
  if (value === '') throw invalid(field, 'must not be empty');
  if (/["\0\n]/.test(value)) throw invalid(field, `must not contain a double quote, a NUL byte or a newline, got ${JSON.stringify(value)}`);
  return value;
}

/** The labels given, as kernel option pairs in LSM_KEYS order. */
export function lsmKernelOptions(o: LsmLabels): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const key of LSM_KEYS) {
    const value = o[key];
    if (value !== undefined) pairs.push([key, checkLabel(key, value)]);
  }
  return pairs;
}
