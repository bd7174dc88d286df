// ovl doctor: whether these directories would make a working overlay, and why
// not (the library's check), one finding a line.
import { check, type CheckOptions, type Finding } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { oneLine } from '../cli/display';
import { EXIT_OK, EXIT_USAGE } from '../cli/exit-codes';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl doctor [--json] [--userxattr] [--lower DIR]... --upper DIR --work DIR

Check whether an overlay with this upper, work (and lower) directories would
mount and fully work, without mounting it where anyone sees: filesystem type,
d_type, trusted/user xattrs, O_TMPFILE, RENAME_WHITEOUT, the kernel's features.

Prints one line per finding, 'STATUS summary' (STATUS: ok, info, warn, fail);
under a warn or fail, indented, what it means for a mount and what the kernel
writes to its log in that case.

Options:
      --upper DIR    the writable layer
      --work DIR     overlay's work directory
      --lower DIR    a lower layer to check too; repeatable
      --userxattr    judge for a userxattr mount (xattrs in user.overlay.*)
      --json         print the whole result: {"ok","findings","upper","work","lower","probes","kernel"}
  -h, --help         show this help

Probes write and remove a few entries in work, never in a work directory a
mounted overlay uses (an upper or work in use is a 'fail EBUSY' finding,
naming that overlay). Root gets the full answer; without CAP_SYS_ADMIN what
could not be tried says 'not probed'.
Exit status: 0 every finding ok or info; 1 a warn or fail, or wrong usage.`;

function findingText(f: Finding): string {
  const lines = [`${f.status.padEnd(4)} ${oneLine(f.summary)}`];
  if (f.status === 'warn' || f.status === 'fail') {
    lines.push(`     ${oneLine(f.meaning)}`);
    if (f.kernelSays !== undefined) lines.push(`     kernel log: ${oneLine(f.kernelSays)}`);
  }
  return lines.join('\n');
}

const OPTIONS = {
  upper: { type: 'string' },
  work: { type: 'string' },
  lower: { type: 'string', multiple: true },
  userxattr: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const run = framedRun({ name: 'doctor', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (directories are given with --upper, --work, --lower)`);
  if (values.upper === undefined || values.work === undefined) throw new UsageError('--upper and --work are both needed');
  const options: CheckOptions = { upper: values.upper, work: values.work, userxattr: !!values.userxattr };
  if (values.lower?.length) options.lower = values.lower;
  const result = await check(options);
  process.stdout.write((json ? JSON.stringify(result) : result.findings.map(findingText).join('\n')) + '\n');
  return result.ok ? EXIT_OK : EXIT_USAGE;
});

export const doctorCommand: Command = { name: 'doctor', summary: 'check directories for an overlay before mounting', help: HELP, run };
