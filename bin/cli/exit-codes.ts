// Exit codes as mount(8) uses them. The rule: 32 when the kernel refused a
// mount or umount system call; 1 for everything refused before that (wrong
// usage, a check of ours, a layer we could not open) and for missing
// privilege, including EPERM from the kernel; 64 when a command given several
// TARGETs or PATHs did some and failed on others. mount(8)'s 2 (system
// error), 4 (internal bug), 8 (user interrupt) and 16 (mtab) are not used:
// ovl tells no system error from a refusal of the request, writes no mtab,
// and dies by the signal on an interrupt.
import { OverlayError } from '../../lib/index';

export const EXIT_OK = 0;
/** Wrong usage, a validation error, or missing privilege. */
export const EXIT_USAGE = 1;
/** The kernel refused the mount or umount. */
const EXIT_REFUSED = 32;
/** Some of several targets succeeded, some failed (mount(8)'s "some mount succeeded"). */
export const EXIT_SOME_SUCCEEDED = 64;

export function exitCodeFor(err: unknown): number {
  if (err instanceof OverlayError && !err.needsPrivilege && err.fromMountSyscall) return EXIT_REFUSED;
  return EXIT_USAGE;
}

/** One exit code for the results of several targets: 64 when some succeeded and some failed, else the worst. */
export function combinedExitCode(codes: readonly number[]): number {
  const failed = codes.filter((code) => code !== EXIT_OK);
  if (failed.length === 0) return EXIT_OK;
  if (failed.length < codes.length) return EXIT_SOME_SUCCEEDED;
  return Math.max(...failed);
}
