// ovl replace: a new overlay takes the place of the one on TARGET in one step
// (the library's replace); the request is built exactly as for `ovl mount`.
import path from 'node:path';
import { hasCapSysAdmin, listMountsSync, replace, type MountOptions } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { EXIT_OK } from '../cli/exit-codes';
import { dockerOptions, layerOptions, MOUNT_FLAGS, MOUNT_FLAGS_HELP, parsedOptionsOf, withoutRemount, withReadOnlyInOptions } from '../cli/mount-request';
import { kernelLogHint, printMounted } from '../cli/mounted';
import { noPrivilege } from '../cli/report';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl replace [-o OPTIONS] [--lower DIR]... [--data DIR]... [--upper DIR] [--work DIR]
                   [-r|--read-only] [--make-private|--make-shared|--make-slave|--make-unbindable]
                   [--idmap uid|gid:INSIDE:OUTSIDE:COUNT]... [--idmap-userns PATH] [--json] TARGET
       ovl replace --docker FILE|- [-r|--read-only] [TARGET]

Replace the overlay mounted on TARGET with a new one built from the options, as
'ovl mount' builds it. Lookups through TARGET see the old stack or the new one,
never the directory beneath; processes with files open keep the old stack until
they close them. On failure the old overlay stays mounted. The new mount keeps
the old one's propagation unless a --make-* flag is given (a slave cannot be
copied: give one). To keep the upper, give the new stack its own --work on the
same filesystem: a work the old stack uses is refused, and so is its upper
when either stack has index=on. With --upper-image the upper is upper/ of the
image (through the loop device the old stack uses: one superblock) and the
work is work/ or work2/, whichever the old stack does not use. Needs Linux 6.8+.

Options:
${MOUNT_FLAGS_HELP}

Exit status: 0 replaced; 1 wrong usage, invalid request or no privilege; 32 the kernel refused.

Example:
  ovl replace --lower ./image-v2 --upper ./upper --work ./work2 ./merged`;

/**
 * --upper-image keeps the upper (and, its device reused, the image's one
 * superblock); the work must be the new stack's own, as overlay empties its
 * work directory at mount while the old stack may still use it: work/ or
 * work2/ of the image, whichever the stack on TARGET does not use.
 */
function ownWorkInImage(work: MountOptions['work'], target: string): MountOptions['work'] {
  if (work === undefined || typeof work === 'string') return work;
  const image = path.resolve(work.image);
  const stack = listMountsSync({ target });
  const top = stack.find((m) => !stack.some((other) => other.parentId === m.mountId));
  const used = top?.notes.find((n) => n.field === 'work' && n.kind === 'image');
  return top?.work === image && used?.inside === '/work' ? { ...work, path: 'work2' } : work;
}

const run = framedRun({ name: 'replace', help: HELP, options: MOUNT_FLAGS, hint: kernelLogHint }, async ({ values, positionals, tokens }, json) => {
  if (positionals.length > 1) throw new UsageError('one TARGET only');
  const given = positionals[0];
  let request;
  if (values.docker !== undefined) {
    request = await dockerOptions(values, given);
  } else {
    if (given === undefined) throw new UsageError('TARGET is missing');
    const ordered = withReadOnlyInOptions(values, tokens);
    const { remount, rest } = withoutRemount(ordered.options ?? []);
    if (remount) throw new UsageError("-o remount is for 'ovl mount'; replace builds a new stack");
    request = { ...layerOptions(ordered, parsedOptionsOf(rest), tokens), target: given };
  }
  const { target, ...options } = request;
  if (!hasCapSysAdmin()) throw noPrivilege('replacing a mount');
  if (values['upper-image'] !== undefined) options.work = ownWorkInImage(options.work, target);
  printMounted('replace', await replace(target, options), json);
  return EXIT_OK;
});

export const replaceCommand: Command = { name: 'replace', summary: 'replace a mounted overlay with a new stack, atomically', help: HELP, run };
