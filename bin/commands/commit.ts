// ovl commit: the upper of a mounted overlay into an image store as a new image.
import { commit } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { progressLine } from '../cli/progress-line';
import { EXIT_OK } from '../cli/exit-codes';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl commit [--json] --store DIR --ref NAME:TAG [--compression gzip|none] TARGET

Commits the upper layer of the overlay mounted at TARGET as a new image in
the image store DIR (made if missing), under NAME:TAG. The upper is written
as an OCI layer (whiteouts as .wh.NAME, opaque directories with
.wh..wh..opq), gzip'd unless --compression none, kept in DIR as a blob by its
digest and unpacked as a layer by its diff id. The lowers are its base: when
they are the layers of an image in DIR, the new image has that image's
config with the new layer and a history entry added; a lower that is a
plain directory becomes a layer of the image too. Nothing in DIR names the
new image until all of it is there: a failure, or a kill, leaves DIR as it
was but for unreferenced layers and blobs, which the next run reuses.
Prints the reference and the new manifest's digest. Write the image out
with ovl save DIR:NAME:TAG. On a terminal, a run of more than a few seconds
shows a progress line on stderr (bytes written, layers done).

Options:
      --store DIR         the image store (layout: docs/oci-store.md)
      --ref NAME:TAG      the reference to store the image under
      --compression C     gzip (default), zstd or none
      --json              print the result as JSON
  -h, --help              show this help

Exit status: 0 committed; 1 wrong usage, or refused (not an overlay, no upper).`;

const OPTIONS = { store: { type: 'string' }, ref: { type: 'string' }, compression: { type: 'string' }, json: { type: 'boolean' } } as const;

const run = framedRun({ name: 'commit', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (values.store === undefined) throw new UsageError('--store is missing');
  if (values.ref === undefined) throw new UsageError('--ref is missing');
  const [target, ...extra] = positionals;
  if (target === undefined) throw new UsageError('TARGET is missing');
  if (extra.length) throw new UsageError('too many arguments');
  const compression = values.compression as 'gzip' | 'none' | 'zstd' | undefined;
  const line = progressLine('commit', 'written', json);
  let result;
  try {
    result = await commit(target, { store: values.store, ref: values.ref, ...(compression === undefined ? {} : { compression }), ...(line.progress ? { progress: line.progress } : {}) });
  } finally {
    line.end();
  }
  process.stdout.write(json ? JSON.stringify(result) + '\n' : `${result.ref} ${result.manifest}\n`);
  return EXIT_OK;
});

export const commitCommand: Command = { name: 'commit', summary: "commit a mounted overlay's upper as an image", help: HELP, run };
