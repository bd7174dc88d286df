// What the live-operation tests look at: mountinfo lines, open fds, children.
import * as fs from 'node:fs';

/** The mountinfo lines of mounts on `target`, bottom first. */
export function mountinfoLines(target: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === target);
}

/** The topmost mountinfo line on `target`, or '' when nothing is mounted there. */
export function mountinfoLine(target: string): string {
  return mountinfoLines(target).at(-1) ?? '';
}

/** mountinfo's optional fields (shared:N, master:N, unbindable) of the top mount on `target`. */
export function propagationFields(target: string): string[] {
  const fields = mountinfoLine(target).split(' ');
  const dash = fields.indexOf('-');
  return fields.slice(6, dash);
}

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
