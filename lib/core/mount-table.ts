// The one reader of /proc/self/mountinfo (proc_pid_mountinfo(5)): each line
// split and its fields decoded in one place, for listMounts, check, a mount
// object's own checks, the CLI and the tests. mountinfo octal-escapes space,
// tab, newline and backslash (`\040` `\011` `\012` `\134`), so a line splits
// on ' ' before anything is decoded.
import fs from 'node:fs';
import type { Step } from './sync-or-async';

/** One mount, as a mountinfo line describes it. */
export interface MountTableEntry {
  /** The kernel's mount id (the first field); statx's STATX_MNT_ID. */
  mountId: number;
  parentId: number;
  /** The superblock's device, `major:minor`. */
  dev: string;
  /** The directory of the filesystem mounted there ('/' unless a subtree was bind-mounted). */
  root: string;
  /** Where it is mounted. */
  target: string;
  /** This mount's own flags: 'rw', 'nosuid', 'relatime'... */
  mountOptions: string[];
  /** The optional fields: `shared:N`, `master:N`, `propagate_from:N`, `unbindable`. */
  optional: string[];
  fstype: string;
  source: string;
  /** The superblock's options, still escaped: a filesystem decodes them its own way (overlay splits on ',' first). */
  superOptions: string;
}

export const MOUNTINFO = '/proc/self/mountinfo';

/**
 * Undoes mountinfo's `\ooo` escapes. Decoded to bytes first, then read as
 * UTF-8, so an escaped byte of a multi-byte character joins its neighbours
 * instead of becoming Latin-1.
 */
export function decodeOctal(field: string): string {
  if (!field.includes('\\')) return field;
  const bytes: number[] = [];
  for (let i = 0; i < field.length; i++) {
    const octal = field[i] === '\\' ? /^[0-7]{3}/.exec(field.slice(i + 1, i + 4)) : null;
    if (octal) {
      bytes.push(parseInt(octal[0], 8));
      i += 3;
    } else {
      const codePoint = field.codePointAt(i) as number;
      if (codePoint > 0xffff) i++;
      bytes.push(...Buffer.from(String.fromCodePoint(codePoint), 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** One line; undefined for a line that is not a mount (the empty last one). */
export function parseMountTableLine(line: string): MountTableEntry | undefined {
  const fields = line.split(' ');
  const separator = fields.indexOf('-', 6);
  if (separator < 0 || fields.length < separator + 3) return undefined;
  const [mountId, parentId, dev, root, target, mountOptions] = fields;
  return {
    mountId: Number(mountId),
    parentId: Number(parentId),
    dev: dev ?? '',
    root: decodeOctal(root ?? ''),
    target: decodeOctal(target ?? ''),
    mountOptions: (mountOptions ?? '').split(',').filter((o) => o !== ''),
    optional: fields.slice(6, separator),
    fstype: fields[separator + 1] ?? '',
    source: decodeOctal(fields[separator + 2] ?? ''),
    superOptions: fields[separator + 3] ?? '',
  };
}

/** Every mount in mountinfo text, in its order (parents before children). */
export function parseMountTable(text: string): MountTableEntry[] {
  const out: MountTableEntry[] = [];
  for (const line of text.split('\n')) {
    const entry = parseMountTableLine(line);
    if (entry) out.push(entry);
  }
  return out;
}

/** mountinfo's text, for a caller that reads it in more than one way; empty where there is no /proc. */
export function readMountTableText(): string {
  try {
    return fs.readFileSync(MOUNTINFO, 'utf8');
  } catch {
    return ''; // no /proc: callers fall back on what statfs says
  }
}

/** The mounts of this process's mount namespace; none where there is no /proc. */
export function readMountTable(): MountTableEntry[] {
  return parseMountTable(readMountTableText());
}

let lineBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * The lines of this namespace's mountinfo whose filesystem type is
 * `fstype`, the rest never decoded: a check made on every mount reads the
 * table into one reused buffer and turns only those lines into strings
 * (none at all, the common case, when no such mount exists). Empty where
 * there is no /proc.
 */
export function readMountTableLines(fstype: string): string[] {
  let fd: number;
  try {
    fd = fs.openSync(MOUNTINFO, 'r');
  } catch {
    return [];
  }
  let length = 0;
  try {
    for (;;) {
      if (length === lineBuffer.length) {
        const bigger = Buffer.allocUnsafe(lineBuffer.length * 2);
        lineBuffer.copy(bigger);
        lineBuffer = bigger;
      }
      const n = fs.readSync(fd, lineBuffer, length, lineBuffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const text = lineBuffer.subarray(0, length);
  const needle = ` - ${fstype} `;
  const lines: string[] = [];
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) {
    const start = text.lastIndexOf(10, at) + 1;
    const end = text.indexOf(10, at);
    lines.push(text.toString('utf8', start, end < 0 ? length : end));
    if (end < 0) break;
  }
  return lines;
}

/** The mount with this id, if it is in this namespace. */
export function mountById(mountId: number, table = readMountTable()): MountTableEntry | undefined {
  return table.find((m) => m.mountId === mountId);
}

/** The mounts on `target` (a real path, as mountinfo names it), bottom first. */
export function mountsOn(target: string, table = readMountTable()): MountTableEntry[] {
  return table.filter((m) => m.target === target);
}

/** mountinfo's text in both forms, for a walk (sync-or-async.ts); it throws as fs does where there is no /proc. */
export const mountTableTextStep: Step<string> = {
  sync: () => fs.readFileSync(MOUNTINFO, 'utf8'),
  async: () => fs.promises.readFile(MOUNTINFO, 'utf8'),
};

/** mountinfo's text in both forms, empty where there is no /proc (as readMountTableText). */
export const mountTableTextOrEmptyStep: Step<string> = {
  sync: readMountTableText,
  async: () => fs.promises.readFile(MOUNTINFO, 'utf8').catch(() => ''),
};

/** Mount id -> its superblock's device ('0:45'), for every mount in mountinfo text. */
export function devicesByMountId(text: string): Map<number, string> {
  return new Map(parseMountTable(text).map((m) => [m.mountId, m.dev]));
}
