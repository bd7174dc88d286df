// The one module that loads the addon. Everything native goes through the
// interface below, so the rest of lib/ is typed end to end.
import * as path from 'node:path';
import nodeGypBuild = require('node-gyp-build');
import { OverlayError, type OverlayErrorInfo } from './errors';

export type MechanismName = 'fsconfig-fd' | 'fsconfig-path' | 'mount' | 'mount-fd-path' | 'mount-fd-relative';

export interface NativeMountRequest {
  lower: string[];
  data: string[];
  upper?: string;
  work?: string;
  target: string;
  /** Kernel option pairs; a missing value is a flag such as `userxattr`. */
  options: Array<[string, string?]>;
  readOnly: boolean;
  nosuid: boolean;
  nodev: boolean;
  noexec: boolean;
  atime?: 'noatime' | 'relatime' | 'strictatime';
  mechanism?: MechanismName;
}

export interface NativeMountResult {
  mechanism: MechanismName;
  mountId: number;
  warnings: string[];
}

export interface NativeUmountFlags {
  detach?: boolean;
  force?: boolean;
  expire?: boolean;
  noFollow?: boolean;
}

/** What this kernel's overlay accepts, probed once per process. */
export interface KernelFeatures {
  newMountApi: boolean;
  overlayParsesParams: boolean;
  lowerdirPlus: boolean;
  layerFd: boolean;
  moveMountBeneath: boolean;
  fsopenErrno: number;
}

export interface NativeCheckRequest {
  upper: string;
  work: string;
  lower: string[];
}

/** One probe's answer; errno (positive) says why it was refused or not tried. */
export interface NativeCapability {
  state: 'supported' | 'unsupported' | 'untested';
  errno: number;
}

export interface NativeDirFacts {
  path: string;
  /** Positive errno when it could not be opened as a directory, else 0. */
  openErrno: number;
  mountId: number;
  /** statfs f_type. */
  fsMagic: number;
  readOnly: boolean;
}

export interface NativeCheckReport {
  upper: NativeDirFacts;
  work: NativeDirFacts;
  lower: NativeDirFacts[];
  relation: 'separate' | 'different-mounts' | 'same' | 'work-inside-upper' | 'upper-inside-work' | 'unknown';
  probes: {
    ran: boolean;
    scratchErrno: number;
    dType: NativeCapability;
    trustedXattr: NativeCapability;
    userXattr: NativeCapability;
    tmpfile: NativeCapability;
    renameWhiteout: NativeCapability;
    leftovers: string[];
  };
  /** Entries of work/work/incompat; errno when it exists but could not be read. */
  incompat: { errno: number; entries: string[] };
  kernel: KernelFeatures & { xattrWhiteouts: boolean | null };
}

export interface NativeBinding {
  setErrorFactory(factory: (info: OverlayErrorInfo) => Error): void;
  mountOverlay(request: NativeMountRequest): Promise<NativeMountResult>;
  mountOverlaySync(request: NativeMountRequest): NativeMountResult;
  umountOverlay(target: string, flags: NativeUmountFlags): Promise<void>;
  umountOverlaySync(target: string, flags: NativeUmountFlags): void;
  kernelFeatures(): KernelFeatures;
  checkOverlay(request: NativeCheckRequest): Promise<NativeCheckReport>;
  checkOverlaySync(request: NativeCheckRequest): NativeCheckReport;
}

function load(): NativeBinding {
  // OVERLAY_NATIVE_ADDON points at another build of the same addon (the
  // cmake-js build, a sanitizer build) so the same tests can run against it.
  const override = process.env.OVERLAY_NATIVE_ADDON;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const binding = (override ? require(path.resolve(override)) : nodeGypBuild(path.join(__dirname, '..', '..'))) as NativeBinding;
  binding.setErrorFactory((info) => new OverlayError(info));
  return binding;
}

export const native: NativeBinding = load();
