// ovl opaque: mark a layer's directories opaque, read the mark, or clear it
// (the library's setOpaque, isOpaque, clearOpaque).
import path from 'node:path';
import { clearOpaque, hasCapSysAdmin, isOpaque, OverlayError, setOpaque, type LayerPathOptions } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { escapeName } from '../cli/display';
import { EXIT_OK, EXIT_SOME_SUCCEEDED } from '../cli/exit-codes';
import { reportError } from '../cli/report';
import { refuseMountedLayers } from '../cli/mounted-layers';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl opaque [--get|--clear] [--userxattr] [--root DIR] [--allow-mounted] [--json] DIR...

Mark each DIR of a layer opaque (overlay.opaque=y): mounted as a layer, it hides
every entry of the directories of that name in the layers beneath. Marking or
clearing a DIR in a layer of an overlay mounted now is refused (the kernel
expects no change to a mounted layer); --get reads any.

Options:
      --get        print the mark instead: 'y' (opaque), 'x' (holds xattr whiteouts),
                   or nothing; with several DIRs one 'DIR: MARK' line each ('DIR: -'
                   for none), names escaped as mountinfo escapes them
      --clear      remove the mark, whatever it is; none is not an error
      --userxattr  user.overlay.* xattrs instead of trusted.overlay.*
      --root DIR   take each DIR beneath DIR (the layer): never leave it, follow no symlink
      --allow-mounted
                   mark or clear even in a layer of a mounted overlay
      --json       print [{"path","opaque"}] for each DIR, paths absolute, opaque 'y',
                   'x' or null as it is afterwards; errors as JSON on stderr
  -h, --help       show this help

trusted.* xattrs need root (CAP_SYS_ADMIN), to read as well: without it the kernel
shows none, so --get without --userxattr refuses rather than print a wrong answer.
The DIRs are done in order; the first refusal stops, and those done before it
stay and are named on stderr (with --json, printed on stdout).
Exit status: 0 done (--get: whatever the mark); 1 wrong usage, no privilege, or a DIR
refused; 64 some DIRs marked or cleared, then one refused.`;

const OPTIONS = {
  get: { type: 'boolean' },
  clear: { type: 'boolean' },
  userxattr: { type: 'boolean' },
  root: { type: 'string' },
  'allow-mounted': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const run = framedRun({ name: 'opaque', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (values.get && values.clear) throw new UsageError('--get and --clear cannot be combined');
  if (positionals.length === 0) throw new UsageError('DIR is missing');
  const options: LayerPathOptions = { userxattr: !!values.userxattr };
  const root = values.root;
  if (root !== undefined) options.root = root;
  const full = positionals.map((p) => (root === undefined ? path.resolve(p) : path.resolve(root, p)));
  if (values.get) {
    // Without CAP_SYS_ADMIN, reading trusted.* finds nothing rather than failing.
    if (!values.userxattr && !hasCapSysAdmin()) {
      throw new OverlayError({ errno: 1, reason: 'reading trusted.overlay.opaque needs CAP_SYS_ADMIN (without it the kernel shows no mark); use --userxattr for user.overlay.*' });
    }
    const lines: string[] = [];
    const marks: Array<{ path: string; opaque: string | null }> = [];
    for (const [i, dir] of positionals.entries()) {
      const mark = await isOpaque(dir, options);
      marks.push({ path: full[i] as string, opaque: mark || null });
      if (positionals.length > 1) lines.push(`${escapeName(dir)}: ${mark || '-'}`);
      else if (mark) lines.push(mark);
    }
    if (json) process.stdout.write(JSON.stringify(marks) + '\n');
    else if (lines.length) process.stdout.write(lines.join('\n') + '\n');
    return EXIT_OK;
  }
  if (!values['allow-mounted']) refuseMountedLayers('opaque', full, (i) => (positionals.length > 1 ? `dirs[${i}]` : 'dir'));
  const done: number[] = [];
  const report = (): void => {
    if (json) process.stdout.write(JSON.stringify(done.map((i) => ({ path: full[i], opaque: values.clear ? null : 'y' }))) + '\n');
  };
  try {
    for (const [i, dir] of positionals.entries()) {
      await (values.clear ? clearOpaque(dir, options) : setOpaque(dir, options));
      done.push(i);
    }
  } catch (err) {
    if (!done.length) throw err;
    // Some changed and kept: mount(8)'s "some succeeded", with what was changed said.
    if (!json) process.stderr.write(`ovl: opaque: ${values.clear ? 'cleared' : 'marked'} before the failure, and kept: ${done.map((i) => escapeName(positionals[i] as string)).join(' ')}\n`);
    report();
    reportError('opaque', err, json);
    return EXIT_SOME_SUCCEEDED;
  }
  report();
  return EXIT_OK;
});

export const opaqueCommand: Command = { name: 'opaque', summary: "mark a layer's directories opaque, or read the mark", help: HELP, run };
