// ovl whiteout: whiteouts made in a layer offline, in the forms the kernel reads
// (the library's whiteout, or whiteouts for several paths beneath --root).
import fs from 'node:fs';
import path from 'node:path';
import { OverlayError, whiteout, whiteouts, type WhiteoutOptions } from '../../lib/index';
import { escapeName } from '../cli/display';
import { framedRun, type Command } from '../cli/command';
import { EXIT_OK, EXIT_SOME_SUCCEEDED } from '../cli/exit-codes';
import { reportError } from '../cli/report';
import { refuseMountedLayers } from '../cli/mounted-layers';
import { UsageError } from '../cli/usage-error';
import { textArgument } from '../cli/raw-args';

const HELP = `Usage: ovl whiteout [-f|--force] [--xattr] [--userxattr] [--root DIR] [--allow-mounted] [--json] PATH...

Make a whiteout at each PATH of a layer that is not mounted: mounted as a layer,
it hides the entry of that name in the layers beneath. A PATH in a layer of an
overlay mounted now is refused (the kernel expects no change to a mounted layer).

Options:
  -f, --force      replace what is at PATH (not a non-empty directory), atomically
      --xattr      a zero-size file with overlay.whiteout, its directory marked opaque 'x'
                   (honoured in lower layers, Linux 6.7+); default: a char device 0/0
      --userxattr  user.overlay.* xattrs instead of trusted.overlay.* (for --xattr)
      --root DIR   take each PATH beneath DIR (the layer): never leave it, follow no
                   symlink; with several PATHs, all or nothing: a failure
                   undoes the whiteouts already made
      --allow-mounted
                   make them even in a layer of a mounted overlay
      --json       print [{"path","kind"}] for the whiteouts made, paths absolute;
                   errors as JSON on stderr
  -h, --help       show this help

The directory holding PATH must exist. Something already there is refused (EEXIST)
unless --force. Needs root (CAP_MKNOD; CAP_SYS_ADMIN for trusted.* xattrs).
Without --root, several PATHs are each checked first (the directory holding it
exists, nothing is at it unless --force, and never a directory); should one
still fail, those made before it stay and are named on stderr (with --json,
printed on stdout).
Exit status: 0 made; 1 wrong usage, or a PATH refused; 64 some made, then one refused.`;

const OPTIONS = {
  force: { type: 'boolean', short: 'f' },
  xattr: { type: 'boolean' },
  userxattr: { type: 'boolean' },
  root: { type: 'string' },
  'allow-mounted': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const EEXIST = 17;
const EISDIR = 21;
const ENOTDIR = 20;

// Without --root each PATH is its own call, so each is checked before any is
// made: its directory is there, and its name is free (or, with --force, not a directory).
function checkEach(paths: string[], force: boolean): void {
  paths.forEach((given, i) => {
    const field = `PATH[${i}]`;
    const file = path.resolve(given);
    let dir: fs.Stats;
    try {
      dir = fs.statSync(path.dirname(file));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new OverlayError({ errno: -(e.errno ?? 0), syscall: 'stat', path: path.dirname(file), field });
    }
    if (!dir.isDirectory()) throw new OverlayError({ errno: ENOTDIR, path: given, field, reason: `'${path.dirname(file)}' is not a directory` });
    const there = fs.lstatSync(file, { throwIfNoEntry: false });
    if (there && !force) throw new OverlayError({ errno: EEXIST, path: given, field, reason: `'${given}' exists (--force replaces it)` });
    if (there?.isDirectory()) throw new OverlayError({ errno: EISDIR, path: given, field, reason: `'${given}' is a directory, which a whiteout cannot replace` });
  });
}

const run = framedRun({ name: 'whiteout', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (positionals.length === 0) throw new UsageError('PATH is missing');
  // Never act on the U+FFFD text Node decoded instead of the name given.
  positionals.forEach((p, i) => textArgument(p, `PATH[${i}]`));
  if (values.root !== undefined) textArgument(values.root, '--root');
  const options: WhiteoutOptions = { force: !!values.force, kind: values.xattr ? 'xattr' : 'chardev', userxattr: !!values.userxattr };
  const root = values.root;
  // Beneath --root a relative PATH is taken from it (an absolute one must lie inside it: the library checks).
  const full = positionals.map((p) => (root === undefined ? path.resolve(p) : path.resolve(root, p)));
  if (!values['allow-mounted']) refuseMountedLayers('whiteout', full, (i) => (positionals.length > 1 ? `paths[${i}]` : 'path'));
  // One native call for a batch beneath a root: every path checked before any is made.
  if (values.root !== undefined && positionals.length > 1) {
    await whiteouts(values.root, positionals, options);
  } else {
    if (positionals.length > 1) checkEach(positionals, !!values.force);
    const made: number[] = [];
    try {
      for (const [i, p] of positionals.entries()) {
        await whiteout(p, root === undefined ? options : { ...options, root });
        made.push(i);
      }
    } catch (err) {
      if (!made.length) throw err;
      // Some made and kept: mount(8)'s "some succeeded", with what was made said.
      if (json) process.stdout.write(JSON.stringify(made.map((i) => ({ path: full[i], kind: options.kind }))) + '\n');
      else process.stderr.write(`ovl: whiteout: made before the failure, and kept: ${made.map((i) => escapeName(positionals[i] as string)).join(' ')}\n`);
      reportError('whiteout', err, json);
      return EXIT_SOME_SUCCEEDED;
    }
  }
  if (json) process.stdout.write(JSON.stringify(full.map((p) => ({ path: p, kind: options.kind }))) + '\n');
  return EXIT_OK;
});

export const whiteoutCommand: Command = { name: 'whiteout', summary: 'make whiteouts in a layer', help: HELP, run };
