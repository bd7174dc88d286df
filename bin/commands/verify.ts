// ovl verify: every object of a sealed store measured against its name
// and every object the images given need (the library's verify); exit 1
// when any does not match or is missing.
import { verify } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { EXIT_OK, EXIT_USAGE } from '../cli/exit-codes';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl verify [--json] STORE [IMAGE...]

Check a sealed store: each object (STORE/xx/<62 hex>) is named by the fs-verity
digest of its content, so each is measured (in user space: no fs-verity needed in
the kernel or on the filesystem) and compared with its name. Each object that
differs is printed with its path and why: 'mismatch' (its content changed) or the
error that kept it from being read (EIO where the kernel's fs-verity refused it).
Each IMAGE (a sealed EROFS image over STORE) is mounted detached and read-only, and
each of its files whose object is not in STORE is printed as missing, with the file.

Options:
      --json     print {"ok","objects","problems":[{"path","reason","digest","image","file"}]}
  -h, --help     show this help

Exit status: 0 every object matches its name and none is missing; 1 wrong usage, or
an object does not match or is missing.`;

const OPTIONS = { json: { type: 'boolean' } } as const;

const run = framedRun({ name: 'verify', help: HELP, options: OPTIONS }, async ({ positionals }, json) => {
  if (positionals.length === 0) throw new UsageError('STORE is missing');
  const [store, ...images] = positionals as [string, ...string[]];
  const result = await verify(store, images);
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    for (const p of result.problems) {
      const why = p.digest ? ` (content is ${p.digest})` : p.file ? ` (needed by ${p.file} in ${p.image})` : '';
      process.stdout.write(`${p.path}: ${p.reason}${why}\n`);
    }
    process.stderr.write(`ovl: verify: ${result.objects} ${result.objects === 1 ? 'object' : 'objects'}, ${result.problems.length} wrong\n`);
  }
  return result.ok ? EXIT_OK : EXIT_USAGE;
});

export const verifyCommand: Command = { name: 'verify', summary: 'check every object of a sealed store against its name', help: HELP, run };
