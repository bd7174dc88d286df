// check() / checkSync(): the pre-flight of a would-be overlay. The addon tries
// on the real directories what the kernel tries when it mounts, leaving
// nothing behind; the findings say what each answer means for a mount.
import os from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { findingsFor } from './check-findings';
import type { CheckKernel, CheckOptions, CheckProbes, CheckResult, DirectoryInfo, DirectoryInUse, ProbeResult } from './check-types';
import { checkArray, checkBoolean, checkKnownKeys, typeError } from '../core/args';
import { withProbeState } from '../inspect/kernel';
import { parseMountTable, readMountTableText, type MountTableEntry } from '../core/mount-table';
import { hasCapSysAdmin } from '../core/privilege';
import { native, type NativeCapability, type NativeCheckReport, type NativeCheckRequest, type NativeDirFacts } from '../core/native';
import { checkLayer, imageSpecs } from '../images/image-layers';
import { expandSealed } from '../seal/sealed-layer';
import { expandOciLayers } from '../oci/oci-layers';
import { holdersOf, liveWriters } from '../inspect/live-writers';
import { imageDirsInUse, imageDirsInUseSync } from '../inspect/image-dirs-in-use';

export type * from './check-types';

const OVERLAYFS_SUPER_MAGIC = 0x794c7630;

function errnoCode(errno: number): string | undefined {
  if (errno === 0) return undefined;
  return getSystemErrorMap().get(-errno)?.[0] ?? `E${errno}`;
}

const CHECK_OPTION_KEYS: ReadonlySet<string> = new Set(['upper', 'work', 'lower', 'userxattr']);

function toRequest(options: CheckOptions): NativeCheckRequest {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw typeError('options', 'an object: { upper, work, lower? }', options);
  checkKnownKeys(options, CHECK_OPTION_KEYS, 'check()');
  checkBoolean('userxattr', options.userxattr);
  const given = expandOciLayers('lower', checkArray('lower', options.lower ?? [], 'an array of paths')) as unknown[];
  // A sealed layer is probed as the two layers it mounts as: its image and its store.
  const sealed = expandSealed(given, undefined);
  const lower = sealed ? [...sealed.lower, ...sealed.data] : given;
  const [upper, upperImage] = checkLayer('upper', options.upper);
  const [work, workImage] = checkLayer('work', options.work);
  const request: NativeCheckRequest = { upper, work, lower: lower.map((l, i) => checkLayer(`lower[${i}]`, l)[0]) };
  const lowerImages = imageSpecs('lower', lower);
  if (lowerImages || upperImage || workImage) request.images = [lowerImages ?? lower.map(() => null), upperImage, workImage];
  return request;
}

/** What a mounted overlay does with upper and work, and the layers of mounted overlays that could not be looked at. */
type InUse = { upper?: DirectoryInUse; work?: DirectoryInUse; unreachable: string[] };

/** Which mounted overlay writes to upper or work (an image layer's is another mount's business). */
function liveUse(request: NativeCheckRequest, mountinfo: string): InUse {
  const writers = liveWriters(mountinfo);
  const out: InUse = { unreachable: writers.unreachable };
  for (const [field, slot] of [['upper', 1], ['work', 2]] as const) {
    if (request.images?.[slot]) continue;
    const held = holdersOf(request[field], writers)[0];
    if (held) out[field] = { as: held.as, path: held.path, inside: held.inside, target: held.mount.target, mountId: held.mount.mountId };
  }
  return out;
}

/** The request, told not to probe inside a directory a mounted overlay writes to. */
function probing(request: NativeCheckRequest, inUse: InUse): NativeCheckRequest {
  return inUse.work ? { ...request, workInUse: true } : request;
}

function imageOf(request: NativeCheckRequest, field: 'upper' | 'work' | number): DirectoryInfo['image'] {
  const spec = field === 'upper' ? request.images?.[1] : field === 'work' ? request.images?.[2] : request.images?.[0][field];
  return spec ? { image: spec[0], path: `/${spec[1] ?? ''}` } : undefined;
}

function directoryInfo(facts: NativeDirFacts, mounts: Map<number, MountTableEntry>, image?: DirectoryInfo['image']): DirectoryInfo {
  const info: DirectoryInfo = { path: facts.path, mountId: facts.mountId, readOnly: facts.readOnly };
  if (image) Object.assign(info, { image, fstype: facts.imageType, source: image.image });
  const code = errnoCode(facts.openErrno);
  if (code) return { ...info, error: code };
  if (image) return info; // a detached mount: in no mountinfo
  const mount = mounts.get(facts.mountId);
  if (mount) Object.assign(info, { fstype: mount.fstype, source: mount.source, mountPoint: mount.target });
  return info;
}

function probeResult(c: NativeCapability): ProbeResult {
  const code = errnoCode(c.errno);
  return code ? { state: c.state, code } : { state: c.state };
}

/** Xattr whiteouts came with 6.7; used only when the probe could not run. */
function releaseAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

function kernelInfo(report: NativeCheckReport): CheckKernel {
  const release = os.release();
  const { xattrWhiteouts, ...native } = report.kernel;
  const features = withProbeState(native);
  if (xattrWhiteouts === null) return { ...features, release, xattrWhiteouts: releaseAtLeast(release, 6, 7), xattrWhiteoutsFrom: 'kernel-version' };
  return { ...features, release, xattrWhiteouts, xattrWhiteoutsFrom: 'probe' };
}

function interpret(options: CheckOptions, request: NativeCheckRequest, report: NativeCheckReport, inUse: InUse, mountinfo: string): CheckResult {
  const mounts = new Map(parseMountTable(mountinfo).map((m) => [m.mountId, m]));
  const upper = directoryInfo(report.upper, mounts, imageOf(request, 'upper'));
  const work = directoryInfo(report.work, mounts, imageOf(request, 'work'));
  if (inUse.upper) upper.inUse = inUse.upper;
  if (inUse.work) work.inUse = inUse.work;
  const lower = report.lower.map((l, i) => directoryInfo(l, mounts, imageOf(request, i)));
  const p = report.probes;
  const probes: CheckProbes = {
    dType: probeResult(p.dType),
    trustedXattr: probeResult(p.trustedXattr),
    userXattr: probeResult(p.userXattr),
    tmpfile: probeResult(p.tmpfile),
    renameWhiteout: probeResult(p.renameWhiteout),
  };
  const kernel = kernelInfo(report);
  const upperIsOverlay = report.upper.fsMagic === OVERLAYFS_SUPER_MAGIC;
  const privileged = hasCapSysAdmin();
  const findings = findingsFor({ options, upper, work, lower, report, probes, kernel, upperIsOverlay, privileged, unreachableWriters: inUse.unreachable });
  const ok = findings.every((f) => f.status === 'ok' || f.status === 'info');
  return { ok, findings, upper, work, lower, probes, kernel };
}

/**
 * Checks, before mounting, that `upper` and `work` give overlay what it needs:
 * the kernel mounts even when they do not and only says so in dmesg. Nothing
 * is left behind in them, and nothing is written in a work directory a
 * mounted overlay uses (an upper or work in use is a finding of its own).
 * Never rejects for what it finds: see `ok` and `findings`.
 */
export async function check(options: CheckOptions): Promise<CheckResult> {
  const request = toRequest(options);
  const mountinfo = readMountTableText();
  const inUse = liveUse(request, mountinfo);
  // An image upper or work may share a live stack's superblock (one per image file): one in use is refused, as by mount.
  if (request.images?.[1] || request.images?.[2]) request.images[3] = await imageDirsInUse();
  return interpret(options, request, await native.checkOverlay(probing(request, inUse)), inUse, mountinfo);
}

/** Synchronous twin of {@link check}. */
export function checkSync(options: CheckOptions): CheckResult {
  const request = toRequest(options);
  const mountinfo = readMountTableText();
  const inUse = liveUse(request, mountinfo);
  if (request.images?.[1] || request.images?.[2]) request.images[3] = imageDirsInUseSync();
  return interpret(options, request, native.checkOverlaySync(probing(request, inUse)), inUse, mountinfo);
}
