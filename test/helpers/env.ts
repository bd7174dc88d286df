// The environment a test's child processes get.

/** Whether this process runs with the sanitizer runtimes preloaded (npm run test:asan). */
export function underSanitizer(): boolean {
  return /asan/.test(process.env.LD_PRELOAD ?? '');
}

/** process.env without LD_PRELOAD: programs run in a chroot cannot load the sanitizer runtimes. */
export function withoutPreload(): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, ...env } = process.env;
  return env;
}
