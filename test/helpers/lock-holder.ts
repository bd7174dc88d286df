// Another process holding a flock(2) lock on a directory, as a running check or
// a process making temporaries there does. Ready only once the lock is taken:
// flock(1) prints nothing itself, so the shell it runs says so, and a test
// never acts before the lock exists (a fixed sleep would race under the VM's TCG).
import { spawn, spawnSync } from 'node:child_process';
import type { Test } from 'tap';
import { waitFor } from './mounts';

export interface LockHolder {
  /** Ends the holder and waits until every process of it has let go of the lock. */
  release(): Promise<void>;
}

export async function holdLock(t: Test, dir: string, mode: 'shared' | 'exclusive'): Promise<LockHolder> {
  const flags = mode === 'shared' ? ['-s'] : [];
  // Its own process group, so that killing the group frees the lock whichever process holds it.
  const holder = spawn('flock', [...flags, dir, 'sh', '-c', 'echo locked; exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const kill = () => {
    try {
      process.kill(-(holder.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  t.teardown(kill);
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`flock ${dir} exited (${code}) before taking the lock`)));
  });
  return {
    async release() {
      kill();
      await waitFor('the lock to be free', () => spawnSync('flock', ['-n', dir, 'true']).status === 0);
    },
  };
}
