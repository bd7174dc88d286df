// Which mounted overlay writes to a directory: the one owner of "which
// directories do the mounted overlays use as upper and work", plain ones and
// those inside images (image-dirs-in-use.ts hands the latter to the addon). A mounted overlay owns its
// upper and work directories, and the kernel mounts a second overlay on
// either, or on a directory beneath either, with only a warning in dmesg
// ("upperdir is in-use as upperdir/workdir of another mount, accessing files
// from both mounts will result in undefined behavior") unless index=on. So
// mount, apply, replace and check look here first. Directories are compared
// by device and inode, as the kernel compares them: a path string misses
// symlinks and bind mounts. mountinfo is read once per call, only its
// overlay lines decoded, and nothing is stat'ed when no overlay has an upper.
//
// The calls run on the caller's thread in the Promise forms too: reading
// procfs and a few stat calls cost less than one thread-pool round trip.
import fs from 'node:fs';
import { invalid, type OverlayError } from '../core/errors';
import type { LiveRecord } from '../images/image-record';
import { liveRecordsSync } from '../images/image-record-live';
import { applyImageRecords } from './image-names';
import { readMountTableLines } from '../core/mount-table';
import { parseMountinfo, type OverlayMountInfo } from './mountinfo';

const EBUSY = 16;

/** An upper or work directory of a mounted overlay. */
export interface HeldDir {
  mount: OverlayMountInfo;
  as: 'upper' | 'work';
  /** Its name in mountinfo (or the image file its record names, for one inside an image). */
  path: string;
}

/** A mounted overlay's directory that a given directory is, or lies beneath. */
export interface Holding extends HeldDir {
  inside: boolean;
}

/** The upper and work directories of the overlays mounted now, by `major:minor:inode` (dirId). */
export interface LiveWriters {
  byId: Map<string, HeldDir[]>;
  /** The devices they are on: a directory on another one lies in none of them. */
  devices: Set<bigint>;
  /** Whether image records were applied (names of image and fd-named layers checked). */
  recordsRead: boolean;
  /** Uppers and works named by a path this process may not stat (EACCES...): compared with nothing. */
  unreachable: string[];
  mounts: OverlayMountInfo[];
}

/** "major:minor:inode" of a stat, as the addon words a statx (glibc's dev_t encoding): ids from either side compare. */
export function dirId(st: fs.BigIntStats): string {
  const major = ((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & 0xfffff000n);
  const minor = (st.dev & 0xffn) | ((st.dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}:${st.ino}`;
}

const idOf = dirId;

function statOrUndefined(p: string): fs.BigIntStats | undefined {
  try {
    return fs.statSync(p, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // unreachable (EACCES...): nothing can be matched through it
  }
}

/**
 * The name mountinfo gives a layer, when it is a path to that layer here: not
 * an fd name of another process, not a relative name, not an image layer or
 * a detached tree's root ('/' is never an upper or work: the other would lie
 * inside it, which the kernel refuses).
 */
function namedAsPath(m: OverlayMountInfo, field: 'upper' | 'work'): string | undefined {
  const name = m[field];
  if (name === undefined || name === '/') return undefined;
  // A note whose name is still the shown one says the name is no path; a record may have renamed it to the path it was mounted from.
  if (m.notes.some((n) => n.field === field && (n.kind === 'image' || n.kind === 'detached' || n.name === name))) return undefined;
  return name;
}

function add(writers: LiveWriters, id: string, held: HeldDir): void {
  const list = writers.byId.get(id);
  if (list) list.push(held);
  else writers.byId.set(id, [held]);
}

// `records`: the live image records, whose dirIds name an upper or work inside an image (mountinfo shows it as '/' or '/upper').
function index(mounts: OverlayMountInfo[], recordsRead: boolean, records?: Map<number, LiveRecord>): LiveWriters {
  const writers: LiveWriters = { byId: new Map(), devices: new Set(), recordsRead, unreachable: [], mounts };
  for (const mount of mounts) {
    for (const as of ['upper', 'work'] as const) {
      const inImage = records?.get(mount.mountId)?.record.dirIds?.[as];
      if (inImage) {
        add(writers, inImage, { mount, as, path: mount[as] ?? '/' });
        continue;
      }
      const p = namedAsPath(mount, as);
      if (p === undefined) continue;
      let st: fs.BigIntStats | undefined;
      try {
        st = fs.statSync(p, { bigint: true, throwIfNoEntry: false });
      } catch {
        writers.unreachable.push(p); // EACCES...: whether it is the same directory is not known
      }
      if (st === undefined) continue; // gone (a removed upper shows as '... (deleted)')
      add(writers, idOf(st), { mount, as, path: p });
      writers.devices.add(st.dev);
    }
  }
  return writers;
}

/** The overlays with an upper, from mountinfo lines (or its whole text): the rest is never decoded. */
function writableOverlays(lines: string[]): OverlayMountInfo[] {
  const writable = lines.filter((line) => line.includes(' - overlay ') && line.includes('upperdir='));
  return writable.length === 0 ? [] : parseMountinfo(writable.join('\n'));
}

/**
 * The overlays of this mount namespace that write somewhere, and where.
 * `from`: what the caller read already, so mountinfo is read once per call:
 * its listing (listMounts, image records applied) or mountinfo's text.
 */
export function liveWriters(from?: OverlayMountInfo[] | string): LiveWriters {
  if (Array.isArray(from)) return index(from.filter((m) => m.upper !== undefined), true);
  const overlays = writableOverlays(from === undefined ? readMountTableLines('overlay') : from.split('\n'));
  // A layer mountinfo names by an fd name may be named by this package's record.
  const unnamed = overlays.some((m) => m.notes.some((n) => n.field === 'upper' || n.field === 'work'));
  return unnamed ? withRecords(overlays) : index(overlays, false);
}

function withRecords(overlays: OverlayMountInfo[]): LiveWriters {
  const records = liveRecordsSync();
  return index(applyImageRecords(overlays, records), true, records);
}

/**
 * liveWriters from mountinfo's text with this package's image records always
 * read: the uppers and works inside images too, by the ids their records
 * keep, which only the addon can compare (once it has the image mounted).
 */
export function liveWritersWithImages(mountinfo: string): LiveWriters {
  const overlays = writableOverlays(mountinfo.split('\n'));
  return overlays.length === 0 ? index(overlays, true) : withRecords(overlays);
}

/**
 * Every directory from `dir`'s parent up, while the device stays `dev` (a
 * layer never spans a mount point) and until one in `seen` (looked at, with
 * its own parents, already). Through `..`, which the kernel resolves after
 * any symlink: the real parents, without a realpath.
 */
function* ancestors(dir: string, dev: bigint, seen: ReadonlySet<string>): Generator<string> {
  let up = dir;
  let below = '';
  for (;;) {
    up += '/..';
    const st = statOrUndefined(up);
    if (st === undefined || st.dev !== dev) return;
    const id = idOf(st);
    if (id === below || seen.has(id)) return; // the root is its own parent
    yield id;
    below = id;
  }
}

/**
 * `dir`'s `dev:ino` (inside: false), then, when it is on one of `devices`,
 * its ancestors' on the same filesystem (inside: true); none when `dir`
 * cannot be looked at (the mount then names that). The walk stops at an id
 * in `seen`: one the caller looked at already and found held by no overlay
 * (upper and work share most of their parents).
 */
export function identities(dir: string, devices: ReadonlySet<bigint>, seen: ReadonlySet<string> = new Set()): Array<{ id: string; inside: boolean }> {
  const st = statOrUndefined(dir);
  if (st === undefined) return [];
  const out = [{ id: idOf(st), inside: false }];
  if (devices.has(st.dev)) for (const id of ancestors(dir, st.dev, seen)) out.push({ id, inside: true });
  return out;
}

/** `dev:ino` and device of a directory, or undefined when it cannot be looked at. */
export function identity(dir: string): { id: string; dev: bigint } | undefined {
  const st = statOrUndefined(dir);
  return st === undefined ? undefined : { id: idOf(st), dev: st.dev };
}

function holdingsOf(dir: string, writers: LiveWriters, seen?: Set<string>): Holding[] {
  const ids = identities(dir, writers.devices, seen);
  const found = ids.flatMap(({ id, inside }) => (writers.byId.get(id) ?? []).map((h) => ({ ...h, inside })));
  if (seen && found.length === 0) for (const { id } of ids) seen.add(id);
  return found;
}

/**
 * The mounted overlays' uppers and works that `dir` is, or lies beneath.
 * A match is checked against this package's image records first: mountinfo
 * shows a layer inside an image by its path within the image ('/upper'),
 * which may also name an unrelated directory here. `seen` (as for
 * identities) gathers what was found held by none, for the next call.
 */
export function holdersOf(dir: string, writers: LiveWriters, seen?: Set<string>): Holding[] {
  if (writers.byId.size === 0) return [];
  const found = holdingsOf(dir, writers, seen);
  if (found.length === 0 || writers.recordsRead) return found;
  Object.assign(writers, withRecords(writers.mounts));
  return holdingsOf(dir, writers);
}

let indexDefault: boolean | undefined;
/** overlay's `index` default (the module parameter, CONFIG_OVERLAY_FS_INDEX): an option left out means this. */
function indexByDefault(): boolean {
  if (indexDefault === undefined) {
    try {
      indexDefault = fs.readFileSync('/sys/module/overlay/parameters/index', 'utf8').trim() === 'Y';
    } catch {
      indexDefault = false;
    }
  }
  return indexDefault;
}

/** Whether a mounted overlay indexes its upper. */
export function mountUsesIndex(m: OverlayMountInfo): boolean {
  if (m.options.includes('index=on')) return true;
  return !m.options.includes('index=off') && indexByDefault();
}

/** Whether a request's overlay would index its upper. */
export function requestUsesIndex(options: Array<[string, string?]>): boolean {
  const index = options.find(([key]) => key === 'index');
  return index ? index[1] === 'on' : indexByDefault();
}

/** Words for where a mounted overlay is, e.g. `the overlay mounted on '/m' (mount id 42)`. */
export function overlayNamed(m: OverlayMountInfo, how = 'mounted on'): string {
  return `the overlay ${how} '${m.target}' (mount id ${m.mountId})`;
}

/**
 * The refusal of `dir` as `field` because `held` holds it: EBUSY, naming the
 * field, the other overlay's target and mount id. `how`: how that overlay is
 * named ('being replaced on').
 */
function heldError(field: string, dir: string, held: Holding, index: boolean, how = 'mounted on'): OverlayError {
  const where = held.inside ? `lies inside '${held.path}', the ${held.as} of ${overlayNamed(held.mount, how)}` : `is the ${held.as} ('${held.path}') of ${overlayNamed(held.mount, how)}`;
  const why = index
    ? 'with index=on the kernel refuses a directory another overlay uses'
    : 'the kernel would mount both stacks on one directory, logging only that the result is undefined behavior';
  return invalid(field, `'${dir}' ${where}; ${why}: give it its own ${field} directory`, EBUSY, dir);
}

/** What a request's upper and work are, where they are directories (an image layer's is the image's business). */
export function writableDirs(request: { upper?: string; work?: string; images?: unknown[] }): Array<['upper' | 'work', string]> {
  const out: Array<['upper' | 'work', string]> = [];
  const images = request.images as [unknown, unknown, unknown, unknown] | undefined;
  if (request.upper !== undefined && !images?.[2]) out.push(['upper', request.upper]);
  if (request.work !== undefined && !images?.[3]) out.push(['work', request.work]);
  return out;
}

export interface RefuseOptions {
  /** The overlays mounted now, when the caller has them (else mountinfo is read). */
  writers?: LiveWriters;
  /** A sharing allowed here: replace keeps the upper of the stack it replaces. */
  mayShare?: (field: 'upper' | 'work', held: Holding) => boolean;
  /** How the holder is named, e.g. 'being replaced on' for the stack a replace takes off. */
  how?: (held: Holding) => string;
}

/** Refuses (EBUSY) a request whose upper or work is, or lies inside, a mounted overlay's upper or work. */
export function refuseHeldDirs(request: { upper?: string; work?: string; images?: unknown[]; options: Array<[string, string?]> }, o: RefuseOptions = {}): void {
  const dirs = writableDirs(request);
  if (dirs.length === 0) return;
  const writers = o.writers ?? liveWriters();
  if (writers.byId.size === 0) return;
  const seen = new Set<string>();
  for (const [field, dir] of dirs) {
    for (const held of holdersOf(dir, writers, seen)) {
      if (o.mayShare?.(field, held)) continue;
      throw heldError(field, dir, held, requestUsesIndex(request.options), o.how?.(held));
    }
  }
}
