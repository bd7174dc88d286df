// Looks a mount up in /proc/self/mountinfo by the id statx reports, to name
// the filesystem a directory is on the way findmnt does.
import * as fs from 'node:fs';

export interface MountEntry {
  mountId: number;
  mountPoint: string;
  fstype: string;
  source: string;
}

/** mountinfo writes space, tab, newline and backslash as \ooo. */
function decodeField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function parseLine(line: string): MountEntry | undefined {
  const fields = line.split(' ');
  const separator = fields.indexOf('-', 6);
  if (separator < 0 || fields.length < separator + 3) return undefined;
  return {
    mountId: Number(fields[0]),
    mountPoint: decodeField(fields[4] ?? ''),
    fstype: fields[separator + 1] ?? '',
    source: decodeField(fields[separator + 2] ?? ''),
  };
}

/** Every mount of this process's namespace, by mount id. */
export function readMountinfo(): Map<number, MountEntry> {
  const byId = new Map<number, MountEntry>();
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return byId; // no /proc: callers fall back on statfs magic numbers
  }
  for (const line of text.split('\n')) {
    const entry = parseLine(line);
    if (entry) byId.set(entry.mountId, entry);
  }
  return byId;
}
