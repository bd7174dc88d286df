// ovl opaque: mark a layer's directories opaque, read the mark, or clear it
// (the library's setOpaque, isOpaque, clearOpaque).
import { clearOpaque, hasCapSysAdmin, isOpaque, OverlayError, setOpaque, type LayerPathOptions } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { escapeName } from '../cli/display';
import { EXIT_OK } from '../cli/exit-codes';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl opaque [--get|--clear] [--userxattr] [--root DIR] DIR...

Mark each DIR of a layer opaque (overlay.opaque=y): mounted as a layer, it hides
every entry of the directories of that name in the layers beneath.

Options:
      --get        print the mark instead: 'y' (opaque), 'x' (holds xattr whiteouts),
                   or nothing; with several DIRs one 'DIR: MARK' line each ('DIR: -'
                   for none), names escaped as mountinfo escapes them
      --clear      remove the mark, whatever it is; none is not an error
      --userxattr  user.overlay.* xattrs instead of trusted.overlay.*
      --root DIR   take each DIR beneath DIR (the layer): never leave it, follow no symlink
  -h, --help       show this help

trusted.* xattrs need root (CAP_SYS_ADMIN), to read as well: without it the kernel
shows none, so --get without --userxattr refuses rather than print a wrong answer.
Exit status: 0 done (--get: whatever the mark); 1 wrong usage, no privilege, or a DIR refused.`;

const OPTIONS = {
  get: { type: 'boolean' },
  clear: { type: 'boolean' },
  userxattr: { type: 'boolean' },
  root: { type: 'string' },
} as const;

const run = framedRun({ name: 'opaque', help: HELP, options: OPTIONS }, async ({ values, positionals }) => {
  if (values.get && values.clear) throw new UsageError('--get and --clear cannot be combined');
  if (positionals.length === 0) throw new UsageError('DIR is missing');
  const options: LayerPathOptions = { userxattr: !!values.userxattr };
  if (values.root !== undefined) options.root = values.root;
  if (values.get) {
    // Without CAP_SYS_ADMIN, reading trusted.* finds nothing rather than failing.
    if (!values.userxattr && !hasCapSysAdmin()) {
      throw new OverlayError({ errno: 1, reason: 'reading trusted.overlay.opaque needs CAP_SYS_ADMIN (without it the kernel shows no mark); use --userxattr for user.overlay.*' });
    }
    const lines: string[] = [];
    for (const dir of positionals) {
      const mark = await isOpaque(dir, options);
      if (positionals.length > 1) lines.push(`${escapeName(dir)}: ${mark || '-'}`);
      else if (mark) lines.push(mark);
    }
    if (lines.length) process.stdout.write(lines.join('\n') + '\n');
    return EXIT_OK;
  }
  for (const dir of positionals) await (values.clear ? clearOpaque(dir, options) : setOpaque(dir, options));
  return EXIT_OK;
});

export const opaqueCommand: Command = { name: 'opaque', summary: "mark a layer's directories opaque, or read the mark", help: HELP, run };
