// What the live-operation tests look at besides mounts: open fds, children.
import * as fs from 'node:fs';

/** How many fds this process has open. */
export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Each open fd of this process and what it points at, for naming a leaked one. */
export function openFdLinks(): Map<string, string> {
  const links = new Map<string, string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      links.set(fd, fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // the readdir's own fd, closed by now
    }
  }
  return links;
}

/** The fds open in `after` that were not open, or pointed elsewhere, in `before`. */
export function newFds(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after].filter(([fd, link]) => before.get(fd) !== link).map(([fd, link]) => `${fd} -> ${link}`);
}

/** Pids of this process's children, from every thread (a worker thread may have made one). */
export function childPids(): string[] {
  const pids: string[] = [];
  for (const task of fs.readdirSync('/proc/self/task')) {
    try {
      pids.push(...fs.readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean));
    } catch {
      // the thread ended meanwhile
    }
  }
  return pids.sort();
}
