// ovl umount: umount2 on each target, with umount(8)'s -l and -f; overlays only unless --any-type.
import fs from 'node:fs';
import path from 'node:path';
import { hasCapSysAdmin, OverlayError, umount, type UmountOptions } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { combinedExitCode, EXIT_OK } from '../cli/exit-codes';
import { mountsOn } from '../../lib/internal';
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

--expire cannot be combined with --lazy or --force (the kernel refuses it).
Every TARGET is tried. Exit status: 0 all unmounted; 1 wrong usage, no privilege,
or not an overlay; 32 the kernel refused (not mounted, busy, or only marked for
expiry); 64 some TARGETs unmounted and some not; else the worst of the failures.`;

// What the kernel's errno means for an unmount, in umount(8)'s words, each
// said only when it is true: EINVAL is "not mounted" only when mountinfo
// has nothing on the TARGET.
function hintFor(err: unknown): string | undefined {
  if (!(err instanceof OverlayError) || err.syscall !== 'umount2') return undefined;
  if (err.code === 'EINVAL') return isMountPoint(err.path) ? 'a mount is there, but the kernel would not unmount it: one locked by a user namespace, one of another mount namespace, or the root' : 'not mounted';
  if (err.code === 'EBUSY') return "target is busy; 'ovl umount --lazy' detaches it now";
  return undefined;
}

function isMountPoint(target: string | undefined): boolean {
  if (target === undefined) return false;
  try {
    return mountsOn(fs.realpathSync(target)).length > 0;
  } catch {
    return false;
  }
}

const EAGAIN = 11;

/**
 * MNT_EXPIRE's first answer on an unused mount: not a failure of the kernel
 * but not an unmount either (exit 32, as the mount is still there); said as
 * what it is, not as "resource temporarily unavailable".
 */
function expiryMarked(err: unknown, expire: boolean): unknown {
  if (!expire || !(err instanceof OverlayError) || err.code !== 'EAGAIN' || err.syscall !== 'umount2') return err;
  const reason = `'${err.path}' is marked for expiry, not unmounted: run 'ovl umount --expire' on it again to unmount it, which happens if nothing used it in between`;
  return new OverlayError({ errno: EAGAIN, syscall: 'umount2', field: 'target', reason, ...(err.path !== undefined ? { path: err.path } : {}) });
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
  // The kernel refuses MNT_EXPIRE with MNT_DETACH or MNT_FORCE (EINVAL, which would read as "not mounted").
  if (values.expire && (values.lazy || values.force)) throw new UsageError(`--expire cannot be combined with ${values.lazy ? '--lazy' : '--force'}`);
  if (!hasCapSysAdmin()) throw noPrivilege('unmounting');
  const flags: UmountOptions = { detach: !!values.lazy, force: !!values.force, expire: !!values.expire };
  const codes: number[] = [];
  const unmounted: Array<{ target: string }> = [];
  for (const target of positionals) {
    try {
      if (!values['any-type']) refuseNonOverlay(target, !!values.expire);
      await umount(target, flags);
      unmounted.push({ target: path.resolve(target) });
      codes.push(EXIT_OK);
    } catch (caught) {
      const err = expiryMarked(caught, !!values.expire);
      codes.push(reportError('umount', err, json, hintFor(err)));
    }
  }
  if (json) process.stdout.write(JSON.stringify(unmounted) + '\n');
  return combinedExitCode(codes);
});

export const umountCommand: Command = { name: 'umount', summary: 'unmount overlays', help: HELP, run };
