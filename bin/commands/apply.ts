// ovl apply: bring the overlays to what a declaration file says (the
// library's apply), printing the plan: one row per stack and what was done.
import path from 'node:path';
import { apply, hasCapSysAdmin, OverlayError, type ApplyAction, type ApplyResult, type Declaration } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { escapeName, formatTable, oneLine } from '../cli/display';
import { EXIT_OK } from '../cli/exit-codes';
import { kernelLogHint } from '../cli/mounted';
import { inputName, MAX_INPUT_BYTES, readInputText } from '../cli/read-input';
import { noPrivilege } from '../cli/report';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl apply [--dry-run] [--json] [--state FILE] FILE|-

Bring the overlays of this host to what the declaration FILE (or stdin, '-') says:
  {"stacks": [{"name": "web1", "target": "/var/lib/machines/web1",
               "lower": ["/srv/template"], "upper": "...", "work": "...", ...}]}
Each stack takes every option of the library's mount(): names and targets unique.
A stack not mounted is mounted; one whose declaration changed is replaced in one
step, keeping its upper (Linux 6.8+); an unchanged one is kept without a mount
call; one that apply mounted and the file no longer holds is unmounted. Mounts
apply did not make are never touched. Every stack is checked and built before
any target changes: a refusal changes nothing. Each mount gets a new work
directory WORK/gN inside the declared WORK. Stacks built on stacks (a layer or
the target inside another stack's target) are done in order: a base before the
stacks on it, which are rebuilt when it changes. Relative paths resolve against
FILE's directory (for -, the working directory).

Prints NAME, TARGET, ACTION (mount, replace, keep, unmount) and WHY per stack.

Options:
      --dry-run     print the plan, change nothing
      --json        print {"dryRun","actions":[{"name","target","action","reason",
                    "mountId","previousMountId","work","warnings","stillInUse"}],"skipped","stateFile"};
                    errors as JSON on stderr
      --state FILE  the record of what apply manages (default: $OVL_APPLY_STATE,
                    else /run/overlay-native/apply.json); its directory must exist
  -h, --help        show this help

Exit status: 0 done (or planned); 1 wrong usage, an invalid declaration, a stack
apply does not own in the way, or no privilege; 32 the kernel refused.`;

const OPTIONS = { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, state: { type: 'string' } } as const;

/** The declaration in FILE or on stdin: a file that cannot be read is its errno (ENOENT...), naming the file, not a usage error. */
async function readDeclaration(file: string): Promise<Declaration> {
  const what = inputName(file);
  let text: string;
  try {
    text = await readInputText(file, () => new OverlayError({ errno: 27 /* EFBIG */, field: 'FILE', path: file, reason: `${what} holds more than ${MAX_INPUT_BYTES / (1024 * 1024)} MiB, more than any declaration; stopped reading` }));
  } catch (err) {
    if (err instanceof OverlayError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new OverlayError({ errno: -(e.errno ?? -5), syscall: e.syscall ?? 'read', path: file === '-' ? '/dev/stdin' : file, field: 'FILE' });
  }
  try {
    return JSON.parse(text) as Declaration;
  } catch (err) {
    throw new UsageError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

function why(a: ApplyAction): string {
  return a.stillInUse ? `${a.reason}; the old stack is still in use and was detached` : a.reason;
}

function print(result: ApplyResult, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  if (result.actions.length) {
    const rows = result.actions.map((a) => [escapeName(a.name), escapeName(a.target), a.action, oneLine(why(a))]);
    process.stdout.write(formatTable(['NAME', 'TARGET', 'ACTION', 'WHY'], rows) + '\n');
  }
  for (const a of result.actions) for (const w of a.warnings ?? []) process.stderr.write(`ovl: apply: warning: ${escapeName(a.target)}: ${oneLine(w)}\n`);
  for (const s of result.skipped) process.stderr.write(`ovl: apply: note: not acting on ${escapeName(s.target)} ('${oneLine(s.name)}'): ${oneLine(s.reason)}\n`);
}

/** The library's `stateFile` is this command's `--state`. */
function stateAsOption(err: unknown): unknown {
  const e = err as { field?: unknown; message?: unknown } | null;
  if (e && e.field === 'stateFile' && typeof e.message === 'string') {
    Object.defineProperty(e, 'field', { value: 'state', enumerable: true, configurable: true, writable: true });
    e.message = e.message.replace('stateFile: ', '--state: ');
  }
  return err;
}

const run = framedRun({ name: 'apply', help: HELP, options: OPTIONS, hint: kernelLogHint }, async ({ values, positionals }, json) => {
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'one FILE only' : 'FILE is missing (- for stdin)');
  const file = positionals[0] as string;
  const declaration = await readDeclaration(file);
  const dryRun = values['dry-run'] === true;
  if (!dryRun && !hasCapSysAdmin()) throw noPrivilege('applying a declaration');
  // Relative paths in a file are the file's: the same file means the same stacks from any working directory.
  const base = file === '-' ? process.cwd() : path.dirname(path.resolve(file));
  try {
    print(await apply(declaration, { dryRun, base, ...(values.state !== undefined ? { stateFile: values.state } : {}) }), json);
  } catch (err) {
    throw stateAsOption(err);
  }
  return EXIT_OK;
});

export const applyCommand: Command = { name: 'apply', summary: 'bring the overlays to what a declaration file says', help: HELP, run };
