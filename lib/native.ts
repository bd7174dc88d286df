// The one module that loads the addon. Everything native goes through the
// interface below, so the rest of lib/ is typed end to end.
import * as path from 'node:path';
import nodeGypBuild = require('node-gyp-build');
import { OverlayError, type OverlayErrorInfo } from './errors';
import type { NativeIdmap } from './idmap';

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
  propagation?: 'private' | 'shared' | 'slave' | 'unbindable';
  idmap?: NativeIdmap;
  mechanism?: MechanismName;
}

export interface NativeRemountRequest {
  target: string;
  /** Left out: unchanged; true: set; false: clear. */
  readOnly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  atime?: 'noatime' | 'relatime' | 'strictatime';
  propagation?: 'private' | 'shared' | 'slave' | 'unbindable';
  mechanism?: RemountMechanism;
}

/** 'new-api': fspick + FSCONFIG_CMD_RECONFIGURE and mount_setattr; 'mount': mount(2) MS_REMOUNT. */
export type RemountMechanism = 'new-api' | 'mount';

export interface NativeRemountResult {
  mechanism: RemountMechanism;
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

export interface NativeBinding {
  setErrorFactory(factory: (info: OverlayErrorInfo) => Error): void;
  mountOverlay(request: NativeMountRequest): Promise<NativeMountResult>;
  mountOverlaySync(request: NativeMountRequest): NativeMountResult;
  remountOverlay(request: NativeRemountRequest): Promise<NativeRemountResult>;
  remountOverlaySync(request: NativeRemountRequest): NativeRemountResult;
  replaceOverlay(request: NativeMountRequest): Promise<NativeMountResult>;
  replaceOverlaySync(request: NativeMountRequest): NativeMountResult;
  umountOverlay(target: string, flags: NativeUmountFlags): Promise<void>;
  umountOverlaySync(target: string, flags: NativeUmountFlags): void;
  kernelFeatures(): KernelFeatures;
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
