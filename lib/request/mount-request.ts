// Builds the addon's mount request: checks its shape and option combinations
// before the kernel sees it; the native side then checks the directories it opened.
import { checkBoolean, checkChoice, checkPath, typeError, unknownOption } from '../core/args';
import { invalid } from '../core/errors';
import { toNativeIdmap } from './idmap';
import { ATIMES, MAX_LAYERS, MECHANISMS, MOUNT_OPTION_KEYS, PROPAGATIONS, type MountOptions } from './mount-options';
import type { NativeMountRequest } from '../core/native';
import { lsmKernelOptions } from './lsm-options';
import { FEATURES, toKernelOption, type FeatureSpec } from './overlay-options';
import { checkLayer, checkLayerPaths, imageSpecs } from '../images/image-layers';
import { expandSealed } from '../seal/sealed-layer';
import { sealedFeatures, storesAsFor } from '../seal/sealed-options';
import { expandOciLayers } from '../oci/oci-layers';

function checkFeature(spec: FeatureSpec, value: unknown): void {
  if (spec.kind.type === 'enum') checkChoice(spec.field, value, spec.kind.values);
  else checkBoolean(spec.field, value);
}

/**
 * Combinations every kernel from 6.1 to 6.18 refuses (ovl_fs_params_verify;
 * test/inspect/kernel-rules.test.ts puts each to the kernel), refused here with the
 * reason, which the kernel writes only to dmesg. Without an upper the kernel
 * drops nfs_export and lets metacopy pick its own redirects, so those pairs
 * are refused only with an upper; the verity pairs differ between kernels
 * (and kernel configs) and are left to the kernel. The last two refusals are ours: the kernel ignores a work
 * directory and volatile without an upper, so asking for them is a mistake.
 */
function checkCombinations(o: MountOptions): void {
  const hasUpper = o.upper !== undefined;
  if (hasUpper && o.metacopy === true && o.redirectDir !== undefined && o.redirectDir !== 'on') {
    throw invalid('metacopy', `metacopy=on needs redirect_dir=on, not redirect_dir=${o.redirectDir}`);
  }
  if (hasUpper && o.nfsExport === true && o.index === false) throw invalid('nfsExport', 'nfs_export=on needs index=on');
  if (hasUpper && o.nfsExport === true && o.metacopy === true) throw invalid('nfsExport', 'nfs_export=on cannot be combined with metacopy=on');
  if (o.userxattr) {
    if (o.redirectDir !== undefined && o.redirectDir !== 'nofollow') throw invalid('userxattr', `userxattr cannot be combined with redirect_dir=${o.redirectDir} (only nofollow)`);
    if (o.metacopy === true) throw invalid('userxattr', 'userxattr cannot be combined with metacopy=on');
  }
  if (o.volatile && !hasUpper) throw invalid('volatile', 'volatile needs an upper layer (the kernel would ignore it)');
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
 * The options' enumerable fields in a new object, each key checked against
 * the ones the call knows. Objects made by spreading (`{ ...base, target }`)
 * come with a new hidden class almost every time; read directly, the
 * thirty-odd names looked up below (most of them absent) would go
 * megamorphic. A copy has one shape per key order.
 */
function plainCopy(options: object, known: ReadonlySet<string>, call: string): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key in options) {
    if (!known.has(key)) throw unknownOption(key, known, call);
    // Assigned, an own `__proto__` (JSON.parse makes them) would become the copy's prototype.
    if (key !== '__proto__') copy[key] = (options as Record<string, unknown>)[key];
  }
  return copy;
}

/** replace's options: everything mount takes but the target, which comes apart. */
const REPLACE_OPTION_KEYS: ReadonlySet<string> = new Set([...MOUNT_OPTION_KEYS].filter((k) => k !== 'target'));

/** Validates mount options and turns them into the addon's request. */
export function toNativeRequest(options: MountOptions): NativeMountRequest {
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object', options);
  const o = plainCopy(options, MOUNT_OPTION_KEYS, 'mount()') as unknown as MountOptions;
  return build(o, o.target);
}

/**
 * The same for replace, whose `target` comes separately: spreading the
 * options into a new object to add it would make every later property read
 * here megamorphic.
 */
export function toReplaceRequest(options: Omit<MountOptions, 'target'>, target: unknown): NativeMountRequest {
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object', options);
  return build(plainCopy(options, REPLACE_OPTION_KEYS, 'replace()') as unknown as MountOptions, target);
}

// `o` is the caller's plain copy: an image from a store is replaced in it by
// its layers, which are then checked as any others (the same keys, the same shape).
function build(o: MountOptions, targetOption: unknown): NativeMountRequest {
  const target = checkPath('target', targetOption);
  if (o.lower === undefined) throw invalid('lower', 'at least one lower layer is needed');
  const [lowerLayers, dataLayers] = [expandOciLayers('lower', o.lower), expandOciLayers('data', o.data)];
  if (lowerLayers !== o.lower) o.lower = lowerLayers as MountOptions['lower'];
  if (dataLayers !== o.data) o.data = dataLayers as MountOptions['data'];
  const storesAs = storesAsFor();
  const sealed = expandSealed(o.lower, o.data, storesAs);
  if (sealed) {
    o.lower = sealed.lower as MountOptions['lower'];
    o.data = sealed.data as MountOptions['data'];
    const features = sealedFeatures(o, o.upper !== undefined);
    o.metacopy = features.metacopy;
    o.redirectDir = features.redirectDir;
  }
  const lower = checkLayerPaths('lower', o.lower);
  const data = checkLayerPaths('data', o.data);
  if (lower.length === 0) throw invalid('lower', 'at least one lower layer is needed');
  if (lower.length + data.length > MAX_LAYERS) {
    throw invalid('lower', `${lower.length + data.length} layers, but the kernel stacks at most ${MAX_LAYERS} (lower and data together)`);
  }
  // The kernel's rule for an upper without work; a work without upper it ignores, a rule of ours then.
  if ((o.upper === undefined) !== (o.work === undefined)) {
    throw invalid(o.upper === undefined ? 'upper' : 'work', 'upper and work must be given together');
  }
  const [upper, upperImage] = o.upper === undefined ? [undefined, null] : checkLayer('upper', o.upper);
  const [work, workImage] = o.work === undefined ? [undefined, null] : checkLayer('work', o.work);
  // The kernel counts data-only layers here (ovl_get_lowerstack, 6.5+): one
  // lower and a data layer is composefs' read-only mount.
  if (upper === undefined && lower.length + data.length < 2) {
    throw invalid('lower', 'without an upper layer the kernel needs at least 2 lower layers (data-only layers count)');
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
  for (const pair of lsmKernelOptions(o)) kernelOptions.push(pair);

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
  if (sealed) request.sealed = { metacopy: true, redirectDir: o.redirectDir as 'on' | 'follow', verity: o.verity ?? 'off', storesAs, layers: sealed.sealed };
  const mechanism = checkChoice<NonNullable<NativeMountRequest['mechanism']>>('mechanism', o.mechanism, MECHANISMS);
  if (mechanism !== undefined) request.mechanism = mechanism;
  return request;
}
