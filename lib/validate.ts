// Checks a mount request's shape and option combinations before the kernel
// sees it; the native side then checks the directories it opened.
import * as path from 'node:path';
import { invalid } from './errors';
import { MAX_LAYERS, type MountOptions } from './mount-options';
import type { NativeMountRequest } from './native';
import { FEATURES, toKernelOption, type FeatureSpec } from './overlay-options';
import { toNativeIdmap } from './idmap';
import { checkImageLayer, imageSpecs, isImageLayer, type NativeImageSpec } from './image-layers';

const MECHANISMS = ['fsconfig-fd', 'fsconfig-path', 'mount', 'mount-fd-path', 'mount-fd-relative'];
const ATIMES = ['relatime', 'noatime', 'strictatime'];
export const PROPAGATIONS = ['private', 'shared', 'slave', 'unbindable'];

export function typeError(field: string, expected: string, value: unknown): TypeError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  const err = new TypeError(`${field} must be ${expected}, got ${got}`) as TypeError & { code: string; field: string };
  err.code = 'ERR_INVALID_ARG_TYPE';
  err.field = field;
  return err;
}

// Already absolute, without '//', '.', '..' or a trailing '/': path.resolve
// would return it unchanged, so skip its re-parse (measurable at 500 layers).
const NOT_NORMAL = /\/\/|\/\.\.?(?:\/|$)|.\/$/;
function isNormalAbsolute(value: unknown): value is string {
  return typeof value === 'string' && value.charCodeAt(0) === 0x2f && !value.includes('\0') && !NOT_NORMAL.test(value);
}

/** A directory path: a non-empty string without NUL, made absolute. */
export function checkPath(field: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(field, 'a path string', value);
  if (value === '') throw invalid(field, 'must not be empty');
  if (value.includes('\0')) throw invalid(field, 'must not contain a NUL byte', undefined, value);
  return isNormalAbsolute(value) ? value : path.resolve(value);
}

function checkPaths(field: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw typeError(field, 'an array of paths', value);
  // The field name is built only for a path that needs more than the fast check.
  // An image layer stands in the list by its image's path (checked again with its spec).
  return value.map((item, i) =>
    isNormalAbsolute(item) ? item : isImageLayer(item) ? checkPath(`${field}[${i}].image`, item.image) : checkPath(`${field}[${i}]`, item),
  );
}

// upper or work: a directory, or a directory inside an image.
function checkLayer(field: string, value: unknown): [string, NativeImageSpec | null] {
  if (!isImageLayer(value)) return [checkPath(field, value), null];
  const spec = checkImageLayer(field, value);
  return [spec[0], spec];
}

export function checkBoolean(field: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw typeError(field, 'a boolean', value);
  return value;
}

export function checkChoice<T extends string>(field: string, value: unknown, choices: readonly string[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !choices.includes(value)) {
    throw invalid(field, `must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function checkFeature(spec: FeatureSpec, value: unknown): void {
  if (spec.kind.type === 'enum') checkChoice(spec.field, value, spec.kind.values);
  else checkBoolean(spec.field, value);
}

// Combinations the kernel refuses (ovl_fs_params_verify), refused here with the reason.
function checkCombinations(o: MountOptions): void {
  const verityOn = o.verity === 'on' || o.verity === 'require';
  if (verityOn && o.metacopy === false) throw invalid('verity', `verity=${o.verity} needs metacopy, but metacopy is off`);
  if (o.metacopy === true && o.redirectDir !== undefined && o.redirectDir !== 'on') {
    throw invalid('metacopy', `metacopy=on needs redirect_dir=on, not redirect_dir=${o.redirectDir}`);
  }
  if (o.nfsExport === true && o.index === false) throw invalid('nfsExport', 'nfs_export=on needs index=on');
  if (o.nfsExport === true && o.metacopy === true) throw invalid('nfsExport', 'nfs_export=on cannot be combined with metacopy=on');
  if (o.userxattr) {
    if (o.redirectDir !== undefined && o.redirectDir !== 'nofollow' && o.redirectDir !== 'off') {
      throw invalid('userxattr', `userxattr cannot be combined with redirect_dir=${o.redirectDir}`);
    }
    if (o.metacopy === true) throw invalid('userxattr', 'userxattr cannot be combined with metacopy=on');
    if (verityOn) throw invalid('userxattr', `userxattr cannot be combined with verity=${o.verity}`);
  }
  if (o.volatile && o.upper === undefined) throw invalid('volatile', 'volatile needs an upper layer');
}

export function checkAtime(o: { atime?: unknown; noatime?: unknown }): NativeMountRequest['atime'] {
  const atime = checkChoice<NonNullable<NativeMountRequest['atime']>>('atime', o.atime, ATIMES);
  if (checkBoolean('noatime', o.noatime)) {
    if (atime !== undefined && atime !== 'noatime') throw invalid('noatime', `conflicts with atime: '${atime}'`);
    return 'noatime';
  }
  return atime;
}

/**
 * The options' enumerable fields in a new object. Objects made by spreading
 * (`{ ...base, target }`) come with a new hidden class almost every time;
 * read directly, the thirty-odd names looked up below (most of them absent)
 * go megamorphic and took 6 µs a mount. A copy has one shape per key order.
 */
function plainCopy(options: object): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key in options) {
    // Assigned, an own `__proto__` (JSON.parse makes them) would become the copy's prototype.
    if (key !== '__proto__') copy[key] = (options as Record<string, unknown>)[key];
  }
  return copy;
}

/**
 * Validates mount options and turns them into the addon's request. `target`
 * comes separately for replace, whose options have none: spreading them into
 * a new object to add it made every later property read here megamorphic
 * (7 µs a call instead of 1).
 */
export function toNativeRequest(options: Omit<MountOptions, 'target'> & { target?: unknown }, targetOption: unknown = options?.target): NativeMountRequest {
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object', options);
  const o = plainCopy(options) as unknown as MountOptions;
  const target = checkPath('target', targetOption);
  if (o.lower === undefined) throw invalid('lower', 'at least one lower layer is needed');
  const lower = checkPaths('lower', o.lower);
  const data = checkPaths('data', o.data);
  if (lower.length === 0) throw invalid('lower', 'at least one lower layer is needed');
  if (lower.length + data.length > MAX_LAYERS) {
    throw invalid('lower', `${lower.length + data.length} layers, but the kernel stacks at most ${MAX_LAYERS} (lower and data together)`);
  }
  if ((o.upper === undefined) !== (o.work === undefined)) {
    throw invalid(o.upper === undefined ? 'upper' : 'work', 'upper and work must be given together');
  }
  const [upper, upperImage] = o.upper === undefined ? [undefined, null] : checkLayer('upper', o.upper);
  const [work, workImage] = o.work === undefined ? [undefined, null] : checkLayer('work', o.work);
  if (upper === undefined && lower.length < 2) {
    throw invalid('lower', 'without an upper layer the kernel needs at least 2 lower layers');
  }

  const kernelOptions: NativeMountRequest['options'] = [];
  for (const spec of FEATURES) {
    const value = o[spec.field];
    if (value === undefined) continue;
    checkFeature(spec, value);
    const pair = toKernelOption(spec, value);
    if (pair) kernelOptions.push(pair);
  }
  checkCombinations(o);

  const request: NativeMountRequest = {
    lower,
    data,
    target,
    options: kernelOptions,
    readOnly: checkBoolean('readOnly', o.readOnly),
    nosuid: checkBoolean('nosuid', o.nosuid),
    nodev: checkBoolean('nodev', o.nodev),
    noexec: checkBoolean('noexec', o.noexec),
  };
  if (upper !== undefined && work !== undefined) Object.assign(request, { upper, work });
  const atime = checkAtime(o);
  if (atime !== undefined) request.atime = atime;
  const propagation = checkChoice<NonNullable<NativeMountRequest['propagation']>>('propagation', o.propagation, PROPAGATIONS);
  if (propagation !== undefined) request.propagation = propagation;
  const idmap = toNativeIdmap(o.idmap);
  if (idmap !== undefined) request.idmap = idmap;
  const lowerImages = imageSpecs('lower', o.lower as unknown[]);
  const dataImages = o.data === undefined ? undefined : imageSpecs('data', o.data as unknown[]);
  if (lowerImages || dataImages || upperImage || workImage) {
    request.images = [lowerImages ?? lower.map(() => null), dataImages ?? data.map(() => null), upperImage, workImage];
  }
  const mechanism = checkChoice<NonNullable<NativeMountRequest['mechanism']>>('mechanism', o.mechanism, MECHANISMS);
  if (mechanism !== undefined) request.mechanism = mechanism;
  return request;
}
