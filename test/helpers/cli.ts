// Runs the built CLI (dist/bin/ovl.js) as a subprocess, as people and scripts do.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as path from 'node:path';

export const OVL = path.join(__dirname, '..', '..', 'bin', 'ovl.js');

export interface OvlResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function ovl(args: string[], options: SpawnSyncOptions = {}): OvlResult {
  return ovlThrough([], args, options);
}

/** Runs the CLI under a wrapper command such as `setpriv ...` or `unshare ...`. */
export function ovlThrough(wrapper: string[], args: string[], options: SpawnSyncOptions = {}): OvlResult {
  const [command, ...rest] = [...wrapper, process.execPath, OVL, ...args] as [string, ...string[]];
  const child = spawnSync(command, rest, { encoding: 'utf8', ...options });
  return { status: child.status, stdout: String(child.stdout), stderr: String(child.stderr) };
}

/** What `ovl ls --json TARGET` lists; a failing ls throws with its stderr. */
export function lsJson(target: string, cwd?: string): Array<Record<string, unknown>> {
  const r = ovl(['ls', '--json', target], cwd ? { cwd } : {});
  if (r.status !== 0) throw new Error(`ovl ls failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<Record<string, unknown>>;
}

/** The one JSON object an error with --json writes to stderr. */
export function stderrJson(result: OvlResult): Record<string, unknown> {
  const lines = result.stderr.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got: ${result.stderr}`);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}
