// One apply at a time per record: two at once would each plan from the same
// record and the last to write it would forget the other's mounts.
import fs from 'node:fs';
import { invalid } from '../core/errors';

/** Whether process `pid` still runs (EPERM: it does, as another user's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<stateFile>.lock` (holding our pid); a lock whose process has ended is taken over. Returns the release. */
export function lockRecord(stateFile: string): () => void {
  const lock = `${stateFile}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => fs.rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
        throw invalid('stateFile', `another apply (pid ${holder}) is working on '${stateFile}'`, 16 /* EBUSY */, lock);
      }
      fs.rmSync(lock, { force: true });
    }
  }
  throw invalid('stateFile', `could not take the lock '${lock}'`, 16, lock);
}
