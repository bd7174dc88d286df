// What `ovl mount` and `ovl replace` print once a mount is made (nothing but the
// kernel's warnings, as mount(8); with --json the mount's identity), and the hint
// they add to an error.
import { OverlayError, type OverlayMount } from '../../lib/index';
import { oneLine } from './display';

export function printMounted(command: string, m: OverlayMount, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ target: m.target, mechanism: m.mechanism, mountId: m.mountId, warnings: m.warnings, ...(m.sealed ? { sealed: m.sealed } : {}) }) + '\n');
  } else {
    for (const warning of m.warnings) process.stderr.write(`ovl: ${command}: warning: ${oneLine(warning)}\n`);
  }
}

/**
 * mount(2) leaves the kernel's reason in the kernel log only: say where to
 * look. So does fsconfig for what overlay reports with pr_err rather than to
 * the fs_context log (conflicting options, data-only layers without
 * metacopy on 6.12): an EINVAL with no words of the kernel's may have one there.
 */
export function kernelLogHint(err: unknown): string | undefined {
  if (!(err instanceof OverlayError) || err.detail.length !== 0 || err.code === 'EPERM') return undefined;
  if (err.syscall === 'mount') return "the kernel's reason is in its log: see dmesg";
  if (err.syscall === 'fsconfig' && err.code === 'EINVAL') return "the kernel's reason, if it gave one, is in its log: see dmesg";
  return undefined;
}
