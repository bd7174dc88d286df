// ovl replace: a new overlay takes the place of the one on TARGET in one step
// (the library's replace); the request is built exactly as for `ovl mount`.
import { hasCapSysAdmin, replace } from '../../lib/index';
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
when either stack has index=on. Needs Linux 6.8+.

Options:
${MOUNT_FLAGS_HELP}

Exit status: 0 replaced; 1 wrong usage, invalid request or no privilege; 32 the kernel refused.

Example:
  ovl replace --lower ./image-v2 --upper ./upper --work ./work2 ./merged`;

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
  printMounted('replace', await replace(target, options), json);
  return EXIT_OK;
});

export const replaceCommand: Command = { name: 'replace', summary: 'replace a mounted overlay with a new stack, atomically', help: HELP, run };
