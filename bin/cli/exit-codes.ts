// Exit codes as mount(8) uses them. The rule: 32 when the kernel refused a
// mount or umount system call; 1 for everything refused before that (wrong
// usage, a check of ours, a layer we could not open) and for missing
// privilege, including EPERM from the kernel.
import { OverlayError } from '../../lib/index';

export const EXIT_OK = 0;
/** Wrong usage, a validation error, or missing privilege. */
export const EXIT_USAGE = 1;
/** The kernel refused the mount or umount. */
export const EXIT_REFUSED = 32;

export function exitCodeFor(err: unknown): number {
  if (err instanceof OverlayError && !err.needsPrivilege && err.fromMountSyscall) return EXIT_REFUSED;
  return EXIT_USAGE;
}
