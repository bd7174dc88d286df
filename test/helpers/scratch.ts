// A fresh temporary directory per test, and a teardown that unmounts every
// mount beneath it (deepest first) before removing it, also when the test failed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';
import { mountsBeneath } from './mounts';

export { mountsBeneath } from './mounts';

export interface Scratch {
  dir: string;
  /** Makes directories (relative to dir) and returns their absolute paths. */
  mkdirs(...names: string[]): string[];
  /** Writes files: { 'l1/a': 'text' }. */
  write(files: Record<string, string>): void;
  path(...parts: string[]): string;
  read(rel: string): string;
}

export function scratch(t: Test, prefix = 'ovl-test-'): Scratch {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => {
    for (const point of mountsBeneath(dir)) {
      try {
        execFileSync('umount', ['-l', point], { stdio: 'ignore' });
      } catch {
        // already gone; the final check below reports anything that stayed
      }
    }
    const left = mountsBeneath(dir);
    if (left.length === 0) fs.rmSync(dir, { recursive: true, force: true });
    else t.fail(`mounts left under ${dir}: ${left.join(', ')}`);
  });
  const abs = (...parts: string[]) => path.join(dir, ...parts);
  return {
    dir,
    path: abs,
    mkdirs: (...names) => names.map((n) => (fs.mkdirSync(abs(n), { recursive: true }), abs(n))),
    write: (files) => {
      for (const [rel, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(abs(rel)), { recursive: true });
        fs.writeFileSync(abs(rel), text);
      }
    },
    read: (rel) => fs.readFileSync(abs(rel), 'utf8'),
  };
}

/** Why integration tests cannot run here, or undefined when they can. */
function whyNoOverlay(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (CAP_SYS_ADMIN) to mount';
  const filesystems = fs.readFileSync('/proc/filesystems', 'utf8');
  if (!/\toverlay$/m.test(filesystems)) {
    try {
      execFileSync('modprobe', ['overlay'], { stdio: 'ignore' });
    } catch {
      return 'the kernel has no overlay filesystem';
    }
  }
  return undefined;
}

let overlayAnswer: string | false | undefined;

/**
 * Options for t.test that skip with the reason when overlays cannot be
 * mounted. Asked when a test reads it, not when this file is imported
 * (the answer may load the overlay module).
 */
export const needsOverlay = {
  get skip(): string | false {
    overlayAnswer ??= whyNoOverlay() ?? false;
    return overlayAnswer;
  },
};
