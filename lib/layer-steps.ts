// The file-system steps the layer tools take, each as a sync/async pair.
// Reads never follow a symlink: lstat, and readdir only of directories the
// walk has lstat'ed itself. Overlay marks are read through the whiteout and
// opaque calls, beneath the layer's root.
import * as fs from 'node:fs';
import { native, type NativeXattrRefusal } from './native';
import { isOpaque, isOpaqueSync, type OpaqueValue } from './opaque';
import type { Step } from './sync-or-async';
import { isWhiteout, isWhiteoutSync, type WhiteoutKind } from './whiteout';

/** lstat, or undefined when nothing is there (ENOENT, ENOTDIR). */
export function lstatStep(file: string): Step<fs.Stats | undefined> {
  const missing = (err: unknown) => {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  };
  return {
    sync: () => {
      try {
        return fs.lstatSync(file);
      } catch (err) {
        return missing(err);
      }
    },
    async: () => fs.promises.lstat(file).catch(missing),
  };
}

/** Names in a directory, sorted so every walk is in the same order. */
export function readdirStep(dir: string): Step<string[]> {
  return {
    sync: () => fs.readdirSync(dir).sort(),
    async: async () => (await fs.promises.readdir(dir)).sort(),
  };
}

/** A stat that can be a whiteout at all: a char device 0/0, or an empty regular file (xattr kind). */
export function mayBeWhiteout(st: fs.Stats): boolean {
  return (st.isCharacterDevice() && st.rdev === 0) || (st.isFile() && st.size === 0);
}

export interface MarkOptions {
  root: string;
  userxattr: boolean;
}

export function whiteoutStep(rel: string, o: MarkOptions): Step<WhiteoutKind | false> {
  return { sync: () => isWhiteoutSync(rel, o), async: () => isWhiteout(rel, o) };
}

export function opaqueStep(rel: string, o: MarkOptions): Step<OpaqueValue | false> {
  return { sync: () => isOpaqueSync(rel, o), async: () => isOpaque(rel, o) };
}

/** The prefix of the overlay's own xattrs in a layer read with these options. */
export function overlayXattrPrefix(o: MarkOptions): string {
  return o.userxattr ? 'user.overlay.' : 'trusted.overlay.';
}

/** Copies the xattrs of `from` onto `to` but those starting with `skipPrefix`; resolves to the names `to` refused. */
export function copyXattrsStep(from: string, to: string, skipPrefix: string): Step<NativeXattrRefusal[]> {
  return { sync: () => native.copyXattrsSync(from, to, skipPrefix), async: () => native.copyXattrs(from, to, skipPrefix) };
}

/** Any other step: the same operation written for both drivers. */
export function fsStep<T>(sync: () => T, async: () => Promise<T>): Step<T> {
  return { sync, async };
}

/** atime and mtime to the nanosecond, as setTimesStep takes them: [atimeSec, atimeNsec, mtimeSec, mtimeNsec]. */
export type FileTimes = [number, number, number, number];

const NS = 1_000_000_000n;
const split = (ns: bigint): [number, number] => {
  const sec = ns / NS;
  const rem = ns % NS;
  // Before 1970 the remainder is negative: borrow a second so nanoseconds stay in [0, 1e9).
  return rem < 0n ? [Number(sec - 1n), Number(rem + NS)] : [Number(sec), Number(rem)];
};

/** The times of `st` read with `{ bigint: true }`, to the nanosecond. */
export function fileTimes(st: fs.BigIntStats): FileTimes {
  return [...split(st.atimeNs), ...split(st.mtimeNs)] as FileTimes;
}

/** lstat with nanosecond times. */
export function lstatBigStep(file: string): Step<fs.BigIntStats> {
  return { sync: () => fs.lstatSync(file, { bigint: true }), async: () => fs.promises.lstat(file, { bigint: true }) };
}

/** Sets atime and mtime to the nanosecond; a symlink itself, never followed. */
export function setTimesStep(file: string, times: FileTimes): Step<void> {
  return { sync: () => native.setTimesSync(file, times), async: () => native.setTimes(file, times) };
}
