// overlay-native: mount Linux overlayfs from Node.js.
export { OverlayError, type OverlayErrorInfo } from './errors';
export { mount, mountSync, OverlayMount } from './mount';
export { umount, umountSync, type UmountOptions } from './umount';
export { remount, remountSync, type RemountOptions, type RemountResult } from './remount';
export { replace, replaceSync, type ReplaceOptions } from './replace';
export { MAX_ID_RANGES, type IdmapOptions, type IdMapping } from './idmap';
export { MAX_LAYERS, type MountOptions, type MountFlags, type OverlayLayers, type Atime, type Propagation } from './mount-options';
export type { OverlayFeatures, RedirectDir, Xino, Uuid, Verity, Fsync } from './overlay-options';
export type { MechanismName, KernelFeatures, RemountMechanism } from './native';
export { kernelFeatures } from './kernel';
export { parseOptions, formatOptions, escapePath, type ParsedOptions } from './option-string';
