// ovl diff: what an upper layer changed over its lowers, as docker diff prints it.
import { changesIterator } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { escapeAnyName, jsonName } from '../cli/escape-bytes';
import { rawArgument } from '../cli/raw-args';
import { EXIT_OK } from '../cli/exit-codes';
import { StdoutChunks } from '../cli/stdout-chunks';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl diff [--lower DIR]... [--userxattr] [--json] UPPER

List what the upper layer UPPER changed over its lower layers, one line per
path, sorted, as docker diff prints them:
  A /path   added: no lower layer shows this path
  C /path   changed: a lower shows it, the upper holds it
  D /path   deleted: a whiteout, or an entry beneath an opaque directory
Names are escaped as mountinfo does (a space is \\040); a name that is not
valid UTF-8 has every byte outside printable ASCII escaped. --json prints an
array of {"path","kind"} with names as they are (one not UTF-8: escaped, and
its exact bytes in "pathBase64").

Options:
      --lower DIR   a lower layer, repeatable, the first is the top
      --userxattr   read user.overlay.* marks instead of trusted.overlay.*
                    (trusted.* needs CAP_SYS_ADMIN: refused without it)
      --json        JSON output; errors as JSON on stderr
  -h, --help        show this help

Lines are printed as the walk goes, so a tree too big to hold is listed all
the same; a failure midway exits 1 after the lines before it.

Exit status: 0 listed; 1 wrong usage, a --lower missing or not a directory,
or a layer could not be read.`;

const OPTIONS = {
  lower: { type: 'string', multiple: true },
  userxattr: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const run = framedRun({ name: 'diff', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'one UPPER only' : 'UPPER is missing');
  // Names that are not UTF-8 are taken as their raw bytes, never as the U+FFFD text Node decoded.
  const upper = rawArgument(positionals[0] as string, 'UPPER');
  const lower = (values.lower ?? []).map((l, i) => rawArgument(l, `--lower[${i}]`));
  // Printed as the walk goes, a batch at a time: a tree too big to hold is
  // listed all the same, and a slow reader slows the walk. A failure midway
  // leaves the lines before it printed (the JSON array unended) and exits non-zero.
  const out = new StdoutChunks();
  let first = true;
  try {
    for await (const c of changesIterator(upper, { lower, userxattr: !!values.userxattr })) {
      if (json) await out.line((first ? '[' : ',') + JSON.stringify({ ...jsonName(c.path), kind: c.kind }));
      else await out.line(`${c.kind} ${escapeAnyName(c.path)}\n`);
      first = false;
    }
    if (json) await out.line(first ? '[]\n' : ']\n');
    await out.flush();
  } catch (err) {
    // `ovl diff | head`: the walk is closed by leaving the loop; nothing to report.
    if (out.readerGone) return EXIT_OK;
    throw err;
  }
  return EXIT_OK;
});

export const diffCommand: Command = { name: 'diff', summary: 'list what an upper layer changed', help: HELP, run };
