// apply's record of the mounts it made, kept in a file so that a later call
// (another process, after a reboot) knows which mounts are its own. Each
// mount is recorded by what a reboot, a manual umount or someone else's
// replace cannot fake: the boot id, the mount id (and the 64-bit unique id
// on 6.8+, never reused while the system runs), and the overlay's layers and
// options as mountinfo shows them. A mount that does not match is never acted on.
import fs from 'node:fs';
import path from 'node:path';
import { invalid } from '../core/errors';
import type { OverlayMountInfo } from '../inspect/mountinfo';

/** Where the record lives unless `stateFile` or OVL_APPLY_STATE says otherwise: on /run, which a reboot empties. */
export const DEFAULT_STATE_FILE = '/run/overlay-native/apply.json';
export const STATE_FILE_ENV = 'OVL_APPLY_STATE';

export interface RecordedStack {
  name: string;
  target: string;
  /** The declared stack (ValidStack.key), to tell a changed declaration from an unchanged one. */
  key: string;
  /** The declared work directory, and the generation inside it the mount uses (`<work>/g<N>`). */
  work?: string;
  generation?: number;
  mountId: number;
  /** 0 where the kernel has no unique mount ids (before 6.8). */
  uniqueId: number;
  /** The overlay as mountinfo showed it just after apply mounted it (overlayView). */
  overlay: string;
  bootId: string;
  /**
   * Written just before the switch, with the ids the detached mount already
   * has (they stay the same once it is attached): a crash between the switch
   * and the final record leaves entries the next call can confirm or drop
   * (lib/apply/pending.ts) instead of mounts nobody knows.
   */
  pending?: true;
}

export interface ApplyRecord {
  version: 1;
  stacks: RecordedStack[];
  /** Work generations left behind because their stack was still in use when it went. */
  keptWork: string[];
}

function emptyRecord(): ApplyRecord {
  return { version: 1, stacks: [], keptWork: [] };
}

export function stateFilePath(option: unknown): string {
  if (option !== undefined) {
    if (typeof option !== 'string' || option === '') throw invalid('stateFile', 'must be a non-empty path string');
    return path.resolve(option);
  }
  return path.resolve(process.env[STATE_FILE_ENV] || DEFAULT_STATE_FILE);
}

/**
 * Refuses a record path apply cannot use, naming `stateFile`: a directory
 * (EISDIR), or, when it will write, a directory that does not exist
 * (ENOENT): like mount(8), apply does not make the parents of a path it is
 * given. Only the default record's directory, which is apply's own on /run
 * (emptied at boot), is made.
 */
export function checkStateFile(file: string, writing: boolean): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw invalid('stateFile', `'${file}': a component of its directory is not a directory`, 20, file);
    if (code !== 'ENOENT') throw Object.assign(err as object, { field: 'stateFile' });
  }
  if (st?.isDirectory()) throw invalid('stateFile', `'${file}' is a directory; the record is a file (for example '${path.join(file, 'apply.json')}')`, 21 /* EISDIR */, file);
  if (!writing || st !== undefined) return;
  const dir = path.dirname(file);
  if (fs.existsSync(dir)) return;
  if (file === DEFAULT_STATE_FILE) {
    fs.mkdirSync(dir, { mode: 0o700 });
    return;
  }
  throw invalid('stateFile', `the directory '${dir}' of the record '${file}' does not exist; apply does not make it`, 2 /* ENOENT */, file);
}

/** The record in a state file's text; '' (no file yet) is an empty record. */
export function parseRecord(text: string, file: string): ApplyRecord {
  if (text === '') return emptyRecord();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw invalid('stateFile', `'${file}' is not JSON (${(err as Error).message}); apply will not guess which mounts are its own`, undefined, file);
  }
  const r = data as Partial<ApplyRecord>;
  if (r === null || typeof r !== 'object' || r.version !== 1 || !Array.isArray(r.stacks) || !Array.isArray(r.keptWork)) {
    throw invalid('stateFile', `'${file}' is not an apply record of version 1`, undefined, file);
  }
  return r as ApplyRecord;
}

function formatRecord(record: ApplyRecord): string {
  return JSON.stringify(record, null, 1) + '\n';
}

/** Written to a temporary name and renamed over, so a crash leaves the old record or the new one. */
export function writeRecordSync(file: string, record: ApplyRecord): void {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.writeSync(fd, formatRecord(record));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}

export function readRecordTextSync(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw Object.assign(err as object, { field: 'stateFile' });
  }
}

/** This boot's id: a record from another boot describes mounts that no longer exist. */
export function bootIdSync(): string {
  return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** An overlay's layers and options as mountinfo shows them, as one string. */
export function overlayView(m: OverlayMountInfo): string {
  return JSON.stringify([m.target, m.source, m.lower, m.data, m.upper ?? null, m.work ?? null, m.options]);
}
