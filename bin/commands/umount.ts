// ovl umount: umount2 on each target, with umount(8)'s -l and -f; overlays only unless --any-type.
import * as path from 'node:path';
import { hasCapSysAdmin, OverlayError, umount, type UmountOptions } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { EXIT_OK } from '../cli/exit-codes';
import { noPrivilege, reportError } from '../cli/report';
import { refuseNonOverlay } from '../cli/umount-guard';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl umount [-l|--lazy] [-f|--force] [--expire] [--any-type] [--json] TARGET...

Unmount the overlay on each TARGET (umount2). A TARGET with another filesystem
mounted on top is refused unless --any-type.

Options:
  -l, --lazy     detach now, clean up when no longer busy (MNT_DETACH)
  -f, --force    ask the filesystem to abort pending operations (MNT_FORCE)
      --expire   mark for expiry; a second --expire unmounts it if unused since (MNT_EXPIRE)
      --any-type unmount whatever is mounted on TARGET, not only an overlay
      --json     print [{"target"}] for the TARGETs unmounted, absolute; each error as
                 one JSON object on stderr
  -h, --help     show this help

Every TARGET is tried; the exit status is the worst one.
Exit status: 0 unmounted; 1 wrong usage, no privilege, or not an overlay; 32 the
kernel refused (not mounted, busy, or only marked for expiry).`;

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
  'any-type': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const run = framedRun({ name: 'umount', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (positionals.length === 0) throw new UsageError('TARGET is missing');
  if (!hasCapSysAdmin()) throw noPrivilege('unmounting');
  const flags: UmountOptions = { detach: !!values.lazy, force: !!values.force, expire: !!values.expire };
  let worst = EXIT_OK;
  const unmounted: Array<{ target: string }> = [];
  for (const target of positionals) {
    try {
      if (!values['any-type']) refuseNonOverlay(target);
      await umount(target, flags);
      unmounted.push({ target: path.resolve(target) });
    } catch (err) {
      worst = Math.max(worst, reportError('umount', err, json, hintFor(err, flags)));
    }
  }
  if (json) process.stdout.write(JSON.stringify(unmounted) + '\n');
  return worst;
});

export const umountCommand: Command = { name: 'umount', summary: 'unmount overlays', help: HELP, run };
