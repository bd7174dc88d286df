// check() / checkSync(): the pre-flight of a would-be overlay. The addon tries
// on the real directories what the kernel tries when it mounts, leaving
// nothing behind; the findings say what each answer means for a mount.
import * as os from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { findingsFor } from './check-findings';
import type { CheckKernel, CheckOptions, CheckProbes, CheckResult, DirectoryInfo, ProbeResult } from './check-types';
import { checkBoolean, checkKnownKeys, checkPath, checkPaths, typeError } from './args';
import { withProbeState } from './kernel';
import { readMountTable, type MountTableEntry } from './mount-table';
import { native, type NativeCapability, type NativeCheckReport, type NativeCheckRequest, type NativeDirFacts } from './native';

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
  return {
    upper: checkPath('upper', options.upper),
    work: checkPath('work', options.work),
    lower: checkPaths('lower', options.lower),
  };
}

function directoryInfo(facts: NativeDirFacts, mounts: Map<number, MountTableEntry>): DirectoryInfo {
  const info: DirectoryInfo = { path: facts.path, mountId: facts.mountId, readOnly: facts.readOnly };
  const code = errnoCode(facts.openErrno);
  if (code) return { ...info, error: code };
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

function interpret(options: CheckOptions, report: NativeCheckReport): CheckResult {
  const mounts = new Map(readMountTable().map((m) => [m.mountId, m]));
  const upper = directoryInfo(report.upper, mounts);
  const work = directoryInfo(report.work, mounts);
  const lower = report.lower.map((l) => directoryInfo(l, mounts));
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
  const findings = findingsFor({ options, upper, work, lower, report, probes, kernel, upperIsOverlay });
  const ok = findings.every((f) => f.status === 'ok' || f.status === 'info');
  return { ok, findings, upper, work, lower, probes, kernel };
}

/**
 * Checks, before mounting, that `upper` and `work` give overlay what it needs:
 * the kernel mounts even when they do not and only says so in dmesg. Nothing
 * is left behind in them. Never rejects for what it finds: see `ok` and `findings`.
 */
export async function check(options: CheckOptions): Promise<CheckResult> {
  const request = toRequest(options);
  return interpret(options, await native.checkOverlay(request));
}

/** Synchronous twin of {@link check}. */
export function checkSync(options: CheckOptions): CheckResult {
  const request = toRequest(options);
  return interpret(options, native.checkOverlaySync(request));
}
