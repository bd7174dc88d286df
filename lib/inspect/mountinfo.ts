// The overlay mounts of this system, from the mount table (lib/core/mount-table.ts)
// with their layers decoded. Inside overlay's super options mountinfo also
// escapes ',' (`\054`), so they split on ',' before each option is decoded.
import fs from 'node:fs';
import path from 'node:path';
import { checkKnownKeys, checkOptionsObject, typeError } from '../core/args';
import type { Propagation } from '../core/mount-words';
import { liveRecords, liveRecordsSync } from '../images/image-record-live';
import { applyImageRecords } from './image-names';
import { decodeOctal, mountTableTextStep, parseMountTableLine } from '../core/mount-table';

/** Why a layer's name, as mountinfo shows it, is not a path to that layer. */
export type { LayerNote, LayerNoteKind, OverlayMountInfo } from './overlay-mount-info';
import type { LayerNote, OverlayMountInfo } from './overlay-mount-info';

export interface ListMountsOptions {
  /** Only the overlays mounted on this directory (all of them, bottom first, when stacked). */
  target?: string;
}

/** Drops each backslash and keeps the character after it, as overlay's ovl_unescape does. */
function unescapeLayer(text: string): string {
  return text.replace(/\\(.)/gs, '$1');
}

/**
 * `lowerdir=a:b::d1::d2` as the kernel splits it: a backslash keeps the next
 * character, ':' separates layers and the first '::' starts the data layers.
 */
function splitLowerdir(value: string): { lower: string[]; data: string[] } {
  const lower: string[] = [];
  const data: string[] = [];
  let current = '';
  let inData = false;
  const finish = () => {
    if (current !== '') (inData ? data : lower).push(unescapeLayer(current));
    current = '';
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\' && i + 1 < value.length) {
      current += c + value[++i];
    } else if (c === ':') {
      finish();
      if (value[i + 1] === ':') {
        inData = true;
        i++;
      }
    } else {
      current += c;
    }
  }
  finish();
  return { lower, data };
}

const FD_NAME = /^\/proc\/(?:self|thread-self|\d+)\/fd\/\d+(?:\/|$)/;

function noteFor(field: string, name: string): LayerNote | undefined {
  if (FD_NAME.test(name)) {
    return { field, name, kind: 'fd-name', note: 'an fd name of the process that mounted it, not a path to the layer' };
  }
  if (!name.startsWith('/')) {
    const why = /^\d+$/.test(name) ? ' (an fd number, when mounted from /proc/self/fd)' : '';
    return { field, name, kind: 'relative', note: `relative to the working directory of the process that mounted it${why}, not a path to the layer` };
  }
  return undefined;
}

interface Layers {
  lower: string[];
  data: string[];
  upper?: string;
  work?: string;
  options: string[];
}

// With the legacy `lowerdir=` form every layer was given as a string, and the
// kernel shows those strings as given: escaped, and unescaped when looked up.
// With `lowerdir+=` entries (new mount API) the names are literal: strings the
// kernel took as they are, or the real path of a layer handed over by fd.
// (A new-API caller passing upperdir as a string holding '\' is the one case
// mountinfo cannot tell apart; we read it literally.)
function decodeSuperOptions(raw: string): Layers {
  const out: Layers = { lower: [], data: [], options: [] };
  let upper: string | undefined;
  let work: string | undefined;
  let legacyForm = true;
  for (const item of raw.split(',')) {
    if (item === '') continue;
    const option = decodeOctal(item);
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = eq < 0 ? '' : option.slice(eq + 1);
    if (key === 'lowerdir') {
      const split = splitLowerdir(value);
      out.lower.push(...split.lower);
      out.data.push(...split.data);
    } else if (key === 'lowerdir+') {
      legacyForm = false;
      out.lower.push(value);
    } else if (key === 'datadir+') {
      legacyForm = false;
      out.data.push(value);
    } else if (key === 'upperdir') {
      upper = value;
    } else if (key === 'workdir') {
      work = value;
    } else {
      out.options.push(option);
    }
  }
  if (upper !== undefined) out.upper = legacyForm ? unescapeLayer(upper) : upper;
  if (work !== undefined) out.work = legacyForm ? unescapeLayer(work) : work;
  return out;
}

function notesFor(layers: Layers): LayerNote[] {
  const named: Array<[string, string]> = [
    ...layers.lower.map((name, i): [string, string] => [`lower[${i}]`, name]),
    ...layers.data.map((name, i): [string, string] => [`data[${i}]`, name]),
  ];
  if (layers.upper !== undefined) named.push(['upper', layers.upper]);
  if (layers.work !== undefined) named.push(['work', layers.work]);
  return named.map(([field, name]) => noteFor(field, name)).filter((n): n is LayerNote => n !== undefined);
}

interface PropagationFields {
  propagation: Propagation;
  peerGroup?: number;
  master?: number;
}

/** The optional fields between the mount options and '-': `shared:N`, `master:N`, `propagate_from:N`, `unbindable`. */
function readPropagation(optional: string[]): PropagationFields {
  const out: PropagationFields = { propagation: 'private' };
  let unbindable = false;
  for (const field of optional) {
    const [tag, value] = field.split(':');
    if (tag === 'shared') out.peerGroup = Number(value);
    else if (tag === 'master') out.master = Number(value);
    else if (tag === 'unbindable') unbindable = true;
  }
  // A slave receives from its master whether or not it also shares onwards.
  if (out.master !== undefined) out.propagation = 'slave';
  else if (out.peerGroup !== undefined) out.propagation = 'shared';
  else if (unbindable) out.propagation = 'unbindable';
  return out;
}

/** One mountinfo line, when it is an overlay; see proc_pid_mountinfo(5). */
function parseLine(line: string): OverlayMountInfo | undefined {
  const entry = parseMountTableLine(line);
  if (entry === undefined || entry.fstype !== 'overlay') return undefined;
  const layers = decodeSuperOptions(entry.superOptions);
  const info: OverlayMountInfo = {
    mountId: entry.mountId,
    parentId: entry.parentId,
    target: entry.target,
    root: entry.root,
    source: entry.source,
    lower: layers.lower,
    data: layers.data,
    options: layers.options,
    mountOptions: entry.mountOptions,
    notes: notesFor(layers),
    ...readPropagation(entry.optional),
  };
  if (layers.upper !== undefined) info.upper = layers.upper;
  if (layers.work !== undefined) info.work = layers.work;
  return info;
}

/**
 * The overlay mounts in mountinfo text (the format of /proc/PID/mountinfo),
 * in its order, with escapes decoded and layers split. Other filesystems are
 * skipped.
 */
export function parseMountinfo(text: string): OverlayMountInfo[] {
  if (typeof text !== 'string') throw typeError('text', 'mountinfo text (a string)', text);
  return text
    .split('\n')
    .map(parseLine)
    .filter((m): m is OverlayMountInfo => m !== undefined);
}

function byTarget(mounts: OverlayMountInfo[], target: string | undefined, resolved: string | undefined): OverlayMountInfo[] {
  if (target === undefined) return mounts;
  return mounts.filter((m) => m.target === resolved);
}

const LIST_OPTION_KEYS: ReadonlySet<string> = new Set(['target']);

function checkOptions(options: ListMountsOptions | undefined): string | undefined {
  const { target } = checkOptionsObject('options', options);
  checkKnownKeys(options ?? {}, LIST_OPTION_KEYS, 'listMounts()');
  if (target !== undefined && typeof target !== 'string') throw typeError('target', 'a path string', target);
  if (target === '') throw typeError('target', 'a non-empty path string', target);
  return target;
}

/** mountinfo names mount points by their real path: follow symlinks as the kernel did. */
function realTarget(target: string): string {
  try {
    return fs.realpathSync(target);
  } catch {
    return path.resolve(target);
  }
}

/** The overlay mounts of this process's mount namespace, from /proc/self/mountinfo. */
export async function listMounts(options?: ListMountsOptions): Promise<OverlayMountInfo[]> {
  const target = checkOptions(options);
  const text = await mountTableTextStep.async();
  const resolved = target === undefined ? undefined : await fs.promises.realpath(target).catch(() => path.resolve(target));
  const mounts = byTarget(parseMountinfo(text), target, resolved);
  // Records are checked even with no overlay to name: a listing is what removes a stale one.
  return applyImageRecords(mounts, await liveRecords());
}

/** Synchronous twin of {@link listMounts}. */
export function listMountsSync(options?: ListMountsOptions): OverlayMountInfo[] {
  const target = checkOptions(options);
  const text = mountTableTextStep.sync();
  const mounts = byTarget(parseMountinfo(text), target, target === undefined ? undefined : realTarget(target));
  return applyImageRecords(mounts, liveRecordsSync());
}
