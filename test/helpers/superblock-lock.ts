// One test file at a time may make block-backed superblocks (ext4, erofs,
// squashfs images, loop mounts), while tap runs other files side by side.
// The image tests check that nothing of theirs is left by looking at the
// whole machine (/sys/fs/erofs, /proc/fs/ext4, the image lines of
// mountinfo): an erofs superblock has no name that says whose it is, so
// another file's superblock would read as a leak. The lock is a directory
// (mkdir is atomic) holding its owner's pid; a killed owner's lock is taken
// over, and the owner lets it go when its process exits.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const LOCK = path.join(os.tmpdir(), 'overlay-native-tests-superblocks.lock');
const OWNER = path.join(LOCK, 'pid');
// As long as tap lets one file run; a wait past it is a lock nobody frees.
const GIVE_UP_MS = 300_000;
const POLL_MS = 50;

let held = false;

function ownerAlive(): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(OWNER, 'utf8'));
  } catch {
    return true; // being written or removed this moment: ask again
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits until this process alone may make block-backed superblocks; held until it exits. */
export function holdSuperblockLock(): void {
  if (held) return;
  const deadline = Date.now() + GIVE_UP_MS;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(OWNER, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (!ownerAlive()) {
      fs.rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${LOCK} is still held after ${GIVE_UP_MS} ms`);
    sleep(POLL_MS);
  }
  held = true;
  process.on('exit', () => {
    try {
      if (fs.readFileSync(OWNER, 'utf8') === String(process.pid)) fs.rmSync(LOCK, { recursive: true, force: true });
    } catch {
      // already gone
    }
  });
}
