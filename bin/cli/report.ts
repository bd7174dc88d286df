// Errors to stderr: one line, `ovl: mount: EINVAL: ... (overlay: <kernel's words>)`,
// or with --json one JSON object. Returns the exit code.
import fs from 'node:fs';
import { OverlayError } from '../../lib/index';
import { oneLine } from './display';
import { exitCodeFor } from './exit-codes';
import { CliError, UsageError } from './usage-error';

// A kernel refusal of an image file names the file but not the layer it
// was: text mode puts the request's field first, as our own refusals word
// it ('lower[0]: EINVAL: ...'); --json has `field` on its own. Only for an
// image (its path, or the part before ':sub', is a regular file): for a
// directory the path says which layer it is.
function isImageFile(p: string): boolean {
  for (const candidate of [p, p.slice(0, p.lastIndexOf(':'))]) {
    try {
      if (candidate && fs.statSync(candidate).isFile()) return true;
    } catch {
      // not this one
    }
  }
  return false;
}

const LAYER_FIELD = /^(?:(?:lower|data)\[\d+\]|upper|work)$/;

function withField(err: Error): string {
  if (!(err instanceof OverlayError) || err.beforeKernel || !err.field || !LAYER_FIELD.test(err.field) || !err.path || !isImageFile(err.path)) return err.message;
  return `${err.field}: ${err.message}`;
}

function messageFor(command: string, err: unknown, hint?: string, json = false): string {
  let message = err instanceof Error ? (json ? err.message : withField(err)) : String(err);
  if (err instanceof UsageError) message += ` (see 'ovl ${command} --help')`;
  if (hint) message += ` (${hint})`;
  return message;
}

function codeOf(err: unknown): string | undefined {
  if (err instanceof OverlayError || err instanceof UsageError || err instanceof CliError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorObject(command: string, err: unknown, exitCode: number, hint?: string): Record<string, unknown> {
  const out: Record<string, unknown> = { command, message: messageFor(command, err, hint, true), code: codeOf(err) ?? null, exitCode };
  if (err instanceof OverlayError) {
    out.errno = err.errno;
    for (const key of ['syscall', 'path', 'field', 'reason'] as const) if (err[key] !== undefined) out[key] = err[key];
    out.detail = err.detail;
  }
  return out;
}

/** Writes the error for `ovl COMMAND` and returns its exit code. */
export function reportError(command: string, err: unknown, json: boolean, hint?: string): number {
  const exitCode = exitCodeFor(err);
  const text = json ? JSON.stringify(errorObject(command, err, exitCode, hint)) : `ovl: ${command}: ${oneLine(messageFor(command, err, hint))}`;
  process.stderr.write(text + '\n');
  return exitCode;
}

/** The refusal given before asking the kernel, when this process cannot mount at all. */
export function noPrivilege(what: string): OverlayError {
  return new OverlayError({ errno: 1, reason: `${what} needs root or CAP_SYS_ADMIN, and this process does not have CAP_SYS_ADMIN` });
}
