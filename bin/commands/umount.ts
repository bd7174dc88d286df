// ovl umount: umount2 on each target, with umount(8)'s -l and -f.
import { hasCapSysAdmin, OverlayError, umount, type UmountOptions } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { EXIT_OK } from '../cli/exit-codes';
import { noPrivilege, reportError } from '../cli/report';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl umount [-l|--lazy] [-f|--force] [--expire] TARGET...

Unmount each TARGET (umount2).

Options:
  -l, --lazy     detach now, clean up when no longer busy (MNT_DETACH)
  -f, --force    ask the filesystem to abort pending operations (MNT_FORCE)
      --expire   mark for expiry; a second --expire unmounts it if unused since (MNT_EXPIRE)
  -h, --help     show this help

Every TARGET is tried; the exit status is the worst one.
Exit status: 0 unmounted; 1 wrong usage or no privilege; 32 the kernel refused
(not mounted, busy, or only marked for expiry).`;

// What the kernel's errno means for an unmount, in umount(8)'s words.
function hintFor(err: unknown, flags: UmountOptions): string | undefined {
  if (!(err instanceof OverlayError) || err.syscall !== 'umount2') return undefined;
  if (err.code === 'EINVAL') return 'not mounted';
  if (err.code === 'EBUSY') return "target is busy; 'ovl umount --lazy' detaches it now";
  if (err.code === 'EAGAIN' && flags.expire) return 'marked for expiry: the next --expire unmounts it if it is not used in between';
  return undefined;
}

const OPTIONS = {
  lazy: { type: 'boolean', short: 'l' },
  force: { type: 'boolean', short: 'f' },
  expire: { type: 'boolean' },
} as const;

const run = framedRun({ name: 'umount', help: HELP, options: OPTIONS }, async ({ values, positionals }) => {
  if (positionals.length === 0) throw new UsageError('TARGET is missing');
  if (!hasCapSysAdmin()) throw noPrivilege('unmounting');
  const flags: UmountOptions = { detach: !!values.lazy, force: !!values.force, expire: !!values.expire };
  let worst = EXIT_OK;
  for (const target of positionals) {
    try {
      await umount(target, flags);
    } catch (err) {
      worst = Math.max(worst, reportError('umount', err, false, hintFor(err, flags)));
    }
  }
  return worst;
});

export const umountCommand: Command = { name: 'umount', summary: 'unmount overlays', help: HELP, run };
