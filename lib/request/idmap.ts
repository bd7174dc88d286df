// Idmapped lower layers: the id maps a user namespace gets, checked here the
// way the kernel checks /proc/PID/uid_map writes, with the field at fault named.
import { describeValue } from '../core/args';
import { invalid } from '../core/errors';
import type { NativeIdmap } from '../core/native';

/** One id range: ids `inside` .. `inside + count - 1` appear as `outside` .. `outside + count - 1`. */
export type IdMapping = readonly [inside: number, outside: number, count: number];

/**
 * How idmapped lower layers map ids: either maps for a user namespace made
 * for the mount, or an existing user namespace (`/proc/PID/ns/user`).
 * Through the overlay a lower's file owned by `inside` on disk shows as
 * `outside`: with `[[0, 100000, 65536]]` root's files show as 100000.
 * A map left out is the same as the other one.
 */
export type IdmapOptions =
  | { uidMap: readonly IdMapping[]; gidMap?: readonly IdMapping[]; userns?: undefined }
  | { uidMap?: readonly IdMapping[]; gidMap: readonly IdMapping[]; userns?: undefined }
  | { userns: string; uidMap?: undefined; gidMap?: undefined };


/** The kernel's limit on lines in one map (since 4.15). */
export const MAX_ID_RANGES = 340;
const ID_LIMIT = 2 ** 32 - 1; // (uid_t)-1 is never a valid id

function checkId(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(field, `must be an integer, got ${describeValue(value)}`);
  if (value < min || value >= ID_LIMIT) throw invalid(field, `must be between ${min} and ${ID_LIMIT - 1}, got ${value}`);
  return value;
}

function overlaps(a: number, aCount: number, b: number, bCount: number): boolean {
  return a < b + bCount && b < a + aCount;
}

function checkMap(field: string, value: unknown): IdMapping[] {
  if (!Array.isArray(value)) throw invalid(field, 'must be an array of [inside, outside, count] ranges');
  if (value.length === 0) throw invalid(field, 'must map at least one range');
  if (value.length > MAX_ID_RANGES) throw invalid(field, `has ${value.length} ranges; the kernel takes at most ${MAX_ID_RANGES}`);
  const ranges = value.map((range: unknown, i): IdMapping => {
    const at = `${field}[${i}]`;
    if (!Array.isArray(range) || range.length !== 3) throw invalid(at, 'must be [inside, outside, count]');
    const inside = checkId(`${at}[0]`, range[0], 0);
    const outside = checkId(`${at}[1]`, range[1], 0);
    const count = checkId(`${at}[2]`, range[2], 1);
    if (inside + count > ID_LIMIT) throw invalid(at, `inside range ${inside}+${count} goes past ${ID_LIMIT - 1}`);
    if (outside + count > ID_LIMIT) throw invalid(at, `outside range ${outside}+${count} goes past ${ID_LIMIT - 1}`);
    return [inside, outside, count];
  });
  ranges.forEach(([inside, outside, count], i) => {
    for (let j = 0; j < i; j++) {
      const [otherInside, otherOutside, otherCount] = ranges[j]!;
      if (overlaps(inside, count, otherInside, otherCount)) throw invalid(`${field}[${i}]`, `inside range overlaps ${field}[${j}]`);
      if (overlaps(outside, count, otherOutside, otherCount)) throw invalid(`${field}[${i}]`, `outside range overlaps ${field}[${j}]`);
    }
  });
  return ranges;
}

function mapText(ranges: IdMapping[]): string {
  return ranges.map(([inside, outside, count]) => `${inside} ${outside} ${count}\n`).join('');
}

/** Validates `idmap` and turns it into the addon's form. */
export function toNativeIdmap(value: unknown): NativeIdmap | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('idmap', 'must be an object with uidMap/gidMap or userns');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['uidMap', 'gidMap', 'userns'].includes(key)) throw invalid(`idmap.${key}`, 'is not an idmap option (uidMap, gidMap, userns)');
  }
  if (o.userns !== undefined) {
    if (o.uidMap !== undefined || o.gidMap !== undefined) throw invalid('idmap.userns', 'cannot be combined with uidMap or gidMap');
    if (typeof o.userns !== 'string' || o.userns === '' || o.userns.includes('\0')) throw invalid('idmap.userns', 'must be a path such as /proc/PID/ns/user');
    return { userns: o.userns };
  }
  if (o.uidMap === undefined && o.gidMap === undefined) throw invalid('idmap', 'needs uidMap, gidMap or userns');
  const uid = o.uidMap === undefined ? undefined : checkMap('idmap.uidMap', o.uidMap);
  const gid = o.gidMap === undefined ? undefined : checkMap('idmap.gidMap', o.gidMap);
  return { uidMap: mapText(uid ?? gid!), gidMap: mapText(gid ?? uid!) };
}
