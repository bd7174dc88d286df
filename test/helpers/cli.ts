// Runs the built CLI (dist/bin/ovl.js) as a subprocess, as people and scripts do.
import { spawnSync, type SpawnSyncOptions, type SpawnSyncReturns } from 'node:child_process';
import * as path from 'node:path';
import { nodeCommand } from './child-env';
import { testAddonPath } from './test-addon';

export const OVL = path.join(__dirname, '..', '..', 'bin', 'ovl.js');

export interface OvlResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function ovl(args: string[], options: SpawnSyncOptions = {}): OvlResult {
  return ovlThrough([], args, options);
}

/**
 * Runs the CLI under a wrapper command such as `setpriv ...` or `unshare ...`;
 * wrapped, it records no coverage, since a wrapper may change the user.
 */
export function ovlThrough(wrapper: string[], args: string[], options: SpawnSyncOptions = {}): OvlResult {
  const [node, nodeArgs] = nodeCommand([OVL, ...args], { coverage: wrapper.length === 0 });
  const [command, ...rest] = [...wrapper, node, ...nodeArgs] as [string, ...string[]];
  const child = spawnSync(command, rest, { encoding: 'utf8', ...options });
  return { status: child.status, stdout: String(child.stdout), stderr: String(child.stderr) };
}

/**
 * The CLI on the test addon, SIGKILLed at its failure point `point` (the
 * fixture arm-kill preloaded arms it). `env` is added to this process's.
 */
export function ovlKilledAt(point: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(...nodeCommand(['--require', ARM_KILL, OVL, ...args]), { encoding: 'utf8', env: { ...process.env, ...env, OVERLAY_NATIVE_ADDON: testAddonPath, OVL_KILL_AT: point } });
}

const ARM_KILL = path.join(__dirname, '..', 'fixtures', 'arm-kill.js');

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
