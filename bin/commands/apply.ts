// ovl apply: bring the overlays to what a declaration file says (the
// library's apply), printing the plan: one row per stack and what was done.
import * as fs from 'node:fs';
import { apply, hasCapSysAdmin, type ApplyAction, type ApplyResult, type Declaration } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { escapeName, formatTable, oneLine } from '../cli/display';
import { EXIT_OK } from '../cli/exit-codes';
import { kernelLogHint } from '../cli/mounted';
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
directory WORK/gN inside the declared WORK.

Prints NAME, TARGET, ACTION (mount, replace, keep, unmount) and WHY per stack.

Options:
      --dry-run     print the plan, change nothing
      --json        print {"dryRun","actions":[{"name","target","action","reason",
                    "mountId","previousMountId","work","warnings","stillInUse"}],"skipped","stateFile"};
                    errors as JSON on stderr
      --state FILE  the record of what apply manages (default: $OVL_APPLY_STATE,
                    else /run/overlay-native/apply.json)
  -h, --help        show this help

Exit status: 0 done (or planned); 1 wrong usage, an invalid declaration, a stack
apply does not own in the way, or no privilege; 32 the kernel refused.`;

const OPTIONS = { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, state: { type: 'string' } } as const;

function readDeclaration(file: string): Declaration {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read '${file}': ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as Declaration;
  } catch (err) {
    throw new UsageError(`${file === '-' ? 'stdin' : `'${file}'`} is not JSON: ${(err as Error).message}`);
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

const run = framedRun({ name: 'apply', help: HELP, options: OPTIONS, hint: kernelLogHint }, async ({ values, positionals }, json) => {
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'one FILE only' : 'FILE is missing (- for stdin)');
  const declaration = readDeclaration(positionals[0] as string);
  const dryRun = values['dry-run'] === true;
  if (!dryRun && !hasCapSysAdmin()) throw noPrivilege('applying a declaration');
  print(await apply(declaration, { dryRun, ...(values.state !== undefined ? { stateFile: values.state } : {}) }), json);
  return EXIT_OK;
});

export const applyCommand: Command = { name: 'apply', summary: 'bring the overlays to what a declaration file says', help: HELP, run };
