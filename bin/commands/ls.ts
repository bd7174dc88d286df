// ovl ls: the overlay mounts from /proc/self/mountinfo, as a table or JSON.
import { appliedStacks, listMounts, type AppliedStack, type LayerNote, type LayerNoteKind, type OverlayMountInfo } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { compactFields, escapeName, formatTable } from '../cli/display';
import { EXIT_OK } from '../cli/exit-codes';
import { CliError, UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl ls [--json] [--state FILE] [TARGET]

List the overlay mounts of this mount namespace (from /proc/self/mountinfo), or those on TARGET.

The table shows TARGET, LAYERS (lower layers, +data-only layers), UPPER ('-' when
read-only without one), OPTIONS and, when 'ovl apply' manages any, APPLY (the
stack's name, '-' for a mount apply does not manage); names are escaped as mountinfo does (a space is
\\040). --json prints an array of
  {"target","lower":[],"data":[],"upper","work","options":[],"mountId",
   "parentId","root","source","mountOptions":[],"notes":[],
   "propagation","peerGroup","master","apply","images":[]}
with names decoded; propagation is private, shared, slave (also when shared onwards)
or unbindable, peerGroup and master the mountinfo group numbers or null, apply the
name of the stack 'ovl apply' manages there or null. A layer named by an fd (/proc/self/fd/N) or a relative name is
not a path to it: it is listed in "notes", and noted on stderr under the table. A layer from an
image file (ovl mount --lower-image) is named by the image file, from the record kept when it
was mounted, with a note saying so; "images" lists them ({"image","type","loopDevice","readOnly"}).

Options:
      --json        JSON output; errors as JSON on stderr
      --state FILE  apply's record (default: $OVL_APPLY_STATE, else /run/overlay-native/apply.json)
  -h, --help        show this help

Exit status: 0 listed; 1 wrong usage, or no overlay is mounted on TARGET.`;

function toJson(m: OverlayMountInfo, applied: Map<number, string>): Record<string, unknown> {
  return {
    target: m.target,
    lower: m.lower,
    data: m.data,
    upper: m.upper ?? null,
    work: m.work ?? null,
    options: m.options,
    mountId: m.mountId,
    parentId: m.parentId,
    root: m.root,
    source: m.source,
    mountOptions: m.mountOptions,
    notes: m.notes,
    propagation: m.propagation,
    peerGroup: m.peerGroup ?? null,
    master: m.master ?? null,
    apply: applied.get(m.mountId) ?? null,
    images: m.images ?? [],
  };
}

function optionsColumn(m: OverlayMountInfo): string {
  const all = [...m.mountOptions];
  for (const o of m.options) if (!all.includes(o)) all.push(o);
  return all.map(escapeName).join(',');
}

function row(m: OverlayMountInfo): string[] {
  const layers = m.data.length ? `${m.lower.length}+${m.data.length}` : String(m.lower.length);
  return [escapeName(m.target), layers, m.upper === undefined ? '-' : escapeName(m.upper), optionsColumn(m)];
}

const WHAT_THEY_ARE: Record<LayerNoteKind, string> = {
  'fd-name': 'fd names of the process that mounted it, not paths to the layers',
  relative: 'relative names (fd numbers, when mounted from /proc/self/fd), not paths to the layers',
  image: 'directories inside image files, named by the image file (from the record kept at mount time)',
  detached: "named '/' by the kernel: roots of detached trees (image or idmapped layers) that no record names",
};

function noteLines(m: OverlayMountInfo): string[] {
  const byKind = new Map<LayerNoteKind, LayerNote[]>();
  for (const n of m.notes) byKind.set(n.kind, [...(byKind.get(n.kind) ?? []), n]);
  return [...byKind].map(([kind, notes]) => `ovl: ls: note: ${escapeName(m.target)}: ${compactFields(notes.map((n) => n.field))} are ${WHAT_THEY_ARE[kind]}`);
}

const OPTIONS = { json: { type: 'boolean' }, state: { type: 'string' } } as const;

/** Mount id -> the name of the stack apply manages there; a record it cannot read is noted, not fatal. */
async function appliedByMountId(stateFile: string | undefined): Promise<Map<number, string>> {
  let stacks: AppliedStack[] = [];
  try {
    stacks = await appliedStacks(stateFile === undefined ? {} : { stateFile });
  } catch (err) {
    process.stderr.write(`ovl: ls: note: apply's record not read: ${(err as Error).message}\n`);
  }
  return new Map(stacks.map((s) => [s.mountId, s.name]));
}

const run = framedRun({ name: 'ls', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  if (positionals.length > 1) throw new UsageError('one TARGET at most');
  const target = positionals[0];
  const mounts = await listMounts(target === undefined ? {} : { target });
  const applied = await appliedByMountId(values.state);
  if (target !== undefined && mounts.length === 0) throw new CliError(`no overlay is mounted on '${target}'`, 'ENOTMOUNTED');
  if (json) {
    process.stdout.write(JSON.stringify(mounts.map((m) => toJson(m, applied))) + '\n');
  } else if (mounts.length) {
    const header = ['TARGET', 'LAYERS', 'UPPER', 'OPTIONS'];
    // The APPLY column only where apply manages something, so other hosts see the table as before.
    const rows = applied.size ? mounts.map((m) => [...row(m), escapeName(applied.get(m.mountId) ?? '-')]) : mounts.map(row);
    process.stdout.write(formatTable(applied.size ? [...header, 'APPLY'] : header, rows) + '\n');
    const notes = mounts.flatMap(noteLines);
    if (notes.length) process.stderr.write(notes.join('\n') + '\n');
  }
  return EXIT_OK;
});

export const lsCommand: Command = { name: 'ls', summary: 'list overlay mounts and their layers', help: HELP, run };
