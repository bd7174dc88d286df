// ovl seal: a tree made into a sealed image over an object store (the
// library's seal); prints the image's fs-verity digest, the value
// `ovl mount --sealed IMAGE --digest` checks.
import { seal } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { EXIT_OK } from '../cli/exit-codes';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl seal [--json] SRC IMAGE --store DIR

Seal the tree SRC: each regular file's content goes into the object store DIR
under its fs-verity digest (DIR/xx/<62 hex>; objects already there are shared,
not written again; fs-verity is enabled on new objects where DIR's filesystem
has it), and IMAGE becomes an EROFS image of SRC's metadata (modes, owners,
times, xattrs, links, devices) whose files point at their objects, the form
composefs keeps. IMAGE is written whole or not at all; sealing the same tree
again gives the same bytes. Needs root.
Prints the image's fs-verity digest, sha256:<hex>, for ovl mount --digest.

Options:
      --store DIR  the object store (must exist)
      --json       print {"image","store","digest","files","added","addedBytes"}
  -h, --help       show this help

Exit status: 0 sealed; 1 wrong usage or the seal failed (nothing left behind).`;

const OPTIONS = { store: { type: 'string' }, json: { type: 'boolean' } } as const;

const run = framedRun({ name: 'seal', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (positionals.length !== 2) throw new UsageError(positionals.length < 2 ? 'SRC and IMAGE are needed' : 'only SRC and IMAGE are taken');
  const store = values.store;
  if (typeof store !== 'string') throw new UsageError('--store DIR is needed');
  const [source, image] = positionals as [string, string];
  const result = await seal(source, { store, image });
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    process.stdout.write(`${result.digest}\n`);
    process.stderr.write(`ovl: seal: ${result.files} files, ${result.added} objects added (${result.addedBytes} bytes)\n`);
  }
  return EXIT_OK;
});

export const sealCommand: Command = { name: 'seal', summary: 'make a tree into a sealed image over an object store', help: HELP, run };
