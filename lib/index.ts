// overlay-native: mount Linux overlayfs from Node.js.
export { OverlayError, type OverlayErrorInfo } from './errors';
export { mount, mountSync, OverlayMount } from './mount';
export { umount, umountSync, type UmountOptions } from './umount';
export { whiteout, whiteoutSync, whiteouts, whiteoutsSync, isWhiteout, isWhiteoutSync } from './whiteout';
export type { WhiteoutKind, WhiteoutOptions, WhiteoutsOptions, WhiteoutsError } from './whiteout';
export { setOpaque, setOpaqueSync, isOpaque, isOpaqueSync, clearOpaque, clearOpaqueSync, type OpaqueValue } from './opaque';
export type { LayerPathOptions, Resolver } from './layer-path';
export { MAX_LAYERS, type MountOptions, type MountFlags, type OverlayLayers, type Atime } from './mount-options';
export type { OverlayFeatures, RedirectDir, Xino, Uuid, Verity, Fsync } from './overlay-options';
export type { MechanismName, KernelFeatures } from './native';
export { kernelFeatures } from './kernel';
export { parseOptions, formatOptions, escapePath, type ParsedOptions } from './option-string';
export { check, checkSync } from './check';
export type { CheckOptions, CheckResult, CheckKernel, CheckProbes, DirectoryInfo, Finding, FindingId, FindingStatus, ProbeResult, ProbeState } from './check-types';
export { fromGraphDriver, splitLowerDir, type GraphDriverRecord, type GraphDriverData, type GraphDriverOptions, type GraphDriverMount } from './graph-driver';
export { listMounts, listMountsSync, parseMountinfo, type OverlayMountInfo, type ListMountsOptions, type LayerNote, type LayerNoteKind } from './mountinfo';
export { hasCapSysAdmin } from './privilege';
