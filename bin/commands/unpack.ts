// ovl unpack: an image archive (a file, an oci-dir, or a stream on stdin) into an image store.
import { unpack } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { progressLine } from '../cli/progress-line';
import { EXIT_OK } from '../cli/exit-codes';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl unpack [--json] --store DIR ARCHIVE|-

Unpacks the images of ARCHIVE into the image store DIR (made if missing):
a docker-archive or an oci-archive (a tar, its layers uncompressed, gzip or zstd),
or an oci-dir; - reads the archive from stdin (podman save IMG | ovl unpack -
--store DIR). The archive is read once, as it streams: no copy of it is made.
Each layer goes into DIR once, by its diff id, in overlay form (OCI whiteouts
become overlay whiteouts); a layer already there is skipped. Every blob is
checked against the digest its manifest gives; tar entries that would write
outside their layer are refused, naming the entry. Nothing enters DIR until
the whole archive was read and checked: a failure, or a kill, leaves DIR as
it was, and the next run does the whole job. Prints each reference stored,
one a line (an image the archive does not name: sha256:<manifest digest>).
Mount an image with ovl mount --oci DIR:REF. On a terminal, a run of more
than a few seconds shows a progress line on stderr (bytes read, layers done).

Options:
      --store DIR   the image store (layout: docs/oci-store.md)
      --json        print {"refs": [...], "layers": [{"diffId","path","added"}]}
  -h, --help        show this help

Exit status: 0 unpacked; 1 wrong usage, or an archive refused.`;

const OPTIONS = { store: { type: 'string' }, json: { type: 'boolean' } } as const;

const run = framedRun({ name: 'unpack', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (values.store === undefined) throw new UsageError('--store is missing');
  const [archive, ...extra] = positionals;
  if (archive === undefined) throw new UsageError('ARCHIVE is missing (- for stdin)');
  if (extra.length) throw new UsageError('too many arguments');
  const line = progressLine('unpack', 'read', json);
  let result;
  try {
    result = await unpack(archive === '-' ? process.stdin : archive, { store: values.store, ...(line.progress ? { progress: line.progress } : {}) });
  } finally {
    line.end();
  }
  process.stdout.write(json ? JSON.stringify(result) + '\n' : result.refs.map((r) => `${r}\n`).join(''));
  return EXIT_OK;
});

export const unpackCommand: Command = { name: 'unpack', summary: 'unpack an image archive into an image store', help: HELP, run };
