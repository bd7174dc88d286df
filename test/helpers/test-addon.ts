// The test addon (native/test/, built by `npm run build:cmake` into
// build-cmake/, by test:asan into build-asan/ and named there by
// OVERLAY_NATIVE_TEST_ADDON): the whole addon with its failure points
// armable, plus what only tests use (failure points, malloc figures). Loaded
// on first use, not at import.
import * as path from 'node:path';
import { OverlayError } from '../../lib/core/errors';
import type { NativeBinding } from '../../lib/core/native';

export type { NativeXattr } from '../../lib/core/native';

export interface TestBinding extends NativeBinding {
  /**
   * Arms a failure point of native/ (util/fault.h) once: when reached it
   * mounts a tmpfs on `mountTmpfsOn` if given (a mount made by someone
   * else), and reports `errno` as the failure of its system call if not 0.
   * With `kill` the process is killed there (SIGKILL), as a crash would.
   */
  injectFault(point: string, errno: number, mountTmpfsOn?: string, kill?: boolean): void;
  /** The points armed and not reached since; disarms them. */
  takeArmedFaults(): string[];
  /** Bytes glibc's malloc has handed out and not had back (mallinfo2). */
  mallocInUse(): number;
}

export const testAddonPath =
  process.env.OVERLAY_NATIVE_TEST_ADDON ?? path.join(__dirname, '..', '..', '..', 'build-cmake', 'Release', 'overlay_native_test.node');

let loaded: TestBinding | undefined;

export function testAddon(): TestBinding {
  if (!loaded) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(testAddonPath) as TestBinding;
    loaded.setErrorFactory((info) => new OverlayError(info));
  }
  return loaded;
}
