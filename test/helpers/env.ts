// The environment a test's child processes get.
import { execFileSync } from 'node:child_process';

/** Whether this process runs with the sanitizer runtimes preloaded (npm run test:asan). */
export function underSanitizer(): boolean {
  return /asan/.test(process.env.LD_PRELOAD ?? '');
}

/** process.env without LD_PRELOAD: programs run in a chroot cannot load the sanitizer runtimes. */
export function withoutPreload(): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, ...env } = process.env;
  return env;
}

/** Why a test that runs a child as nobody through setpriv(1) (util-linux) cannot run here, or false when it can. */
export function setprivMissing(): string | false {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'setpriv (util-linux) is not installed';
  }
}
