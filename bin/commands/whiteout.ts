// ovl whiteout: whiteouts made in a layer offline, in the forms the kernel reads
// (the library's whiteout, or whiteouts for several paths beneath --root).
import { whiteout, whiteouts, type WhiteoutOptions } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { EXIT_OK } from '../cli/exit-codes';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl whiteout [-f|--force] [--xattr] [--userxattr] [--root DIR] PATH...

Make a whiteout at each PATH of a layer that is not mounted: mounted as a layer,
it hides the entry of that name in the layers beneath.

Options:
  -f, --force      replace what is at PATH (not a non-empty directory), atomically
      --xattr      a zero-size file with overlay.whiteout, its directory marked opaque 'x'
                   (honoured in lower layers, Linux 6.7+); default: a char device 0/0
      --userxattr  user.overlay.* xattrs instead of trusted.overlay.* (for --xattr)
      --root DIR   take each PATH beneath DIR (the layer): never leave it, follow no
                   symlink; with several PATHs, all or nothing: a failure
                   undoes the whiteouts already made
  -h, --help       show this help

The directory holding PATH must exist. Something already there is refused (EEXIST)
unless --force. Needs root (CAP_MKNOD; CAP_SYS_ADMIN for trusted.* xattrs).
Exit status: 0 made; 1 wrong usage, or a PATH refused (without --root, the first
failure stops and the whiteouts before it stay).`;

const OPTIONS = {
  force: { type: 'boolean', short: 'f' },
  xattr: { type: 'boolean' },
  userxattr: { type: 'boolean' },
  root: { type: 'string' },
} as const;

const run = framedRun({ name: 'whiteout', help: HELP, options: OPTIONS }, async ({ values, positionals }) => {
  if (positionals.length === 0) throw new UsageError('PATH is missing');
  const options: WhiteoutOptions = { force: !!values.force, kind: values.xattr ? 'xattr' : 'chardev', userxattr: !!values.userxattr };
  // One native call for a batch beneath a root: every path checked before any is made.
  if (values.root !== undefined && positionals.length > 1) {
    await whiteouts(values.root, positionals, options);
  } else {
    for (const path of positionals) await whiteout(path, values.root === undefined ? options : { ...options, root: values.root });
  }
  return EXIT_OK;
});

export const whiteoutCommand: Command = { name: 'whiteout', summary: 'make whiteouts in a layer', help: HELP, run };
