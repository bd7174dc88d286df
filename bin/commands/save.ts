// ovl save: an image of an image store written out as an archive podman load takes.
import { save, type SaveFormat } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { progressLine } from '../cli/progress-line';
import { EXIT_OK } from '../cli/exit-codes';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl save [--json] --format oci-archive|docker-archive STORE:REF OUT|-

Writes image REF of the image store STORE as an archive to OUT (- for
stdout): oci-archive (an OCI layout, the image named by the
org.opencontainers.image.ref.name annotation, as podman load reads it) or
docker-archive (manifest.json with RepoTags). STORE:REF is split at the first
':' (a reference holds colons). A REF without a domain is written as
localhost/REF in an oci-archive, as podman names it. OUT is written beside
itself and renamed into place: whole or not at all. A layer unpack stored is
made again byte for byte from its tar-split record, so the image keeps its
config (its ID); one without a record is written again from its directory (a
new diff id, so a new image config; --json lists it in "rewritten"). A stored
file changed since it was unpacked is refused, naming it. On a terminal, a run of more than a few
seconds shows a progress line on stderr (bytes written, layers done).

Options:
      --format F     oci-archive or docker-archive
      --json         print {"ref","format","config","size","rewritten"} (not with -)
  -h, --help         show this help

Exit status: 0 saved; 1 wrong usage, or refused (no such image or store).`;

const OPTIONS = { format: { type: 'string' }, json: { type: 'boolean' } } as const;

const run = framedRun({ name: 'save', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (values.format === undefined) throw new UsageError('--format is missing (oci-archive or docker-archive)');
  const [image, out, ...extra] = positionals;
  if (image === undefined) throw new UsageError('STORE:REF is missing');
  if (out === undefined) throw new UsageError('OUT is missing (- for stdout)');
  if (extra.length) throw new UsageError('too many arguments');
  const colon = image.indexOf(':');
  if (colon <= 0 || colon === image.length - 1) throw new UsageError(`'${image}' is not STORE:REF`);
  if (out === '-' && json) throw new UsageError('--json and - both write to stdout');
  const line = progressLine('save', 'written', json);
  let result;
  try {
    result = await save(image.slice(0, colon), image.slice(colon + 1), out === '-' ? process.stdout : out, { format: values.format as SaveFormat, ...(line.progress ? { progress: line.progress } : {}) });
  } finally {
    line.end();
  }
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  return EXIT_OK;
});

export const saveCommand: Command = { name: 'save', summary: 'write an image of an image store as an archive', help: HELP, run };
