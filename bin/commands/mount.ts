// ovl mount: builds MountOptions from -o and the layer flags; the library checks and mounts.
import { hasCapSysAdmin, mount, OverlayError, parseOptions, type MechanismName, type MountOptions } from '../../lib/index';
import { parseCommandLine, wantsJson } from '../cli/args';
import type { Command } from '../cli/command';
import { EXIT_OK } from '../cli/exit-codes';
import { noPrivilege, reportError } from '../cli/report';
import { oneLine } from '../cli/display';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl mount [-o OPTIONS] [--lower DIR]... [--data DIR]... [--upper DIR] [--work DIR]
                 [-r|--read-only] [--json] TARGET

Mount an overlay on TARGET.

Options:
  -o, --options OPTIONS  mount(8)-style options, e.g. lowerdir=/a:/b,upperdir=/u,workdir=/w,index=on;
                         escape ',' ':' and '\\' in paths with '\\'. Also ro, nosuid, nodev, noexec,
                         noatime, relatime, strictatime and overlay's own options. May be repeated.
      --lower DIR        a lower layer; repeat for more, the first is the top (after any from -o)
      --data DIR         a data-only lower layer (needs metacopy=on); repeatable
      --upper DIR        the writable layer (needs --work)
      --work DIR         overlay's work directory: empty, on the same mount as upper, not inside it
  -r, --read-only        mount read-only (same as -o ro)
      --json             print {"target","mechanism","mountId","warnings"}; errors as JSON on stderr
      --mechanism NAME   force how the mount reaches the kernel (diagnostics): fsconfig-fd,
                         fsconfig-path, mount, mount-fd-path, mount-fd-relative
  -h, --help             show this help

Paths are taken literally with --lower/--data/--upper/--work: no escaping needed.
Exit status: 0 mounted; 1 wrong usage, invalid request or no privilege; 32 the kernel refused.

Example:
  ovl mount --lower ./layer1 --lower ./layer2 --upper ./upper --work ./work ./merged
  ovl mount -o lowerdir=layer1:layer2,upperdir=upper,workdir=work merged`;

function onlyOnce(what: string, fromOptions: string | undefined, fromFlag: string | undefined): string | undefined {
  if (fromOptions !== undefined && fromFlag !== undefined) throw new UsageError(`${what} given twice (in -o and as --${what})`);
  return fromFlag ?? fromOptions;
}

function buildOptions(values: { options?: string[]; lower?: string[]; data?: string[]; upper?: string; work?: string; 'read-only'?: boolean; mechanism?: string }, target: string): MountOptions {
  const parsed = values.options ? parseOptions(values.options.join(',')) : {};
  const options: MountOptions = { ...parsed, target, lower: [...(parsed.lower ?? []), ...(values.lower ?? [])] };
  const data = [...(parsed.data ?? []), ...(values.data ?? [])];
  if (data.length) options.data = data;
  const upper = onlyOnce('upper', parsed.upper, values.upper);
  const work = onlyOnce('work', parsed.work, values.work);
  if (upper !== undefined) options.upper = upper;
  if (work !== undefined) options.work = work;
  if (values['read-only']) options.readOnly = true;
  if (values.mechanism !== undefined) options.mechanism = values.mechanism as MechanismName;
  return options;
}

// mount(2) leaves the kernel's reason in the kernel log only.
function hintFor(err: unknown): string | undefined {
  if (err instanceof OverlayError && err.syscall === 'mount' && err.detail.length === 0 && err.code !== 'EPERM') return "the kernel's reason is in its log: see dmesg";
  return undefined;
}

async function run(argv: string[]): Promise<number> {
  const json = wantsJson(argv);
  try {
    const { values, positionals } = parseCommandLine({
      args: argv,
      options: {
        options: { type: 'string', short: 'o', multiple: true },
        lower: { type: 'string', multiple: true },
        data: { type: 'string', multiple: true },
        upper: { type: 'string' },
        work: { type: 'string' },
        'read-only': { type: 'boolean', short: 'r' },
        json: { type: 'boolean' },
        mechanism: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length ? 'one TARGET only' : 'TARGET is missing');
    const options = buildOptions(values, positionals[0] as string);
    if (!hasCapSysAdmin()) throw noPrivilege('mounting');
    const m = await mount(options);
    if (json) {
      process.stdout.write(JSON.stringify({ target: m.target, mechanism: m.mechanism, mountId: m.mountId, warnings: m.warnings }) + '\n');
    } else {
      for (const warning of m.warnings) process.stderr.write(`ovl: mount: warning: ${oneLine(warning)}\n`);
    }
    return EXIT_OK;
  } catch (err) {
    return reportError('mount', err, json, hintFor(err));
  }
}

export const mountCommand: Command = { name: 'mount', summary: 'mount an overlay', help: HELP, run };
