import type { LayerSource } from '../images/image-layers';
import type { SealedLayer } from '../seal/sealed-layer';
import type { OciLayer } from '../oci/oci-layers';
// The shape of check()'s answer, shared by the findings and the API.
import type { KernelFeatures } from '../inspect/kernel';

/**
 * ok: works as overlay needs. info: worth knowing, changes nothing for this
 * mount. warn: the kernel would mount but turn something off or misbehave.
 * fail: the mount would be refused (or not writable).
 */
export type FindingStatus = 'ok' | 'info' | 'warn' | 'fail';

export type FindingId =
  | 'upper-directory'
  | 'work-directory'
  | 'lower-directory'
  | 'filesystem'
  | 'upper-overlay'
  | 'upper-read-only'
  | 'upper-in-use'
  | 'work-in-use'
  | 'upper-work-mount'
  | 'upper-work-subtrees'
  | 'work-writable'
  | 'd-type'
  | 'xattr-trusted'
  | 'xattr-user'
  | 'tmpfile'
  | 'rename-whiteout'
  | 'remote-upper'
  | 'volatile-leftover'
  | 'probe-cleanup'
  | 'kernel-new-mount-api'
  | 'kernel-lowerdir-plus'
  | 'kernel-layer-fd'
  | 'kernel-move-mount-beneath'
  | 'kernel-xattr-whiteouts';

export interface Finding {
  /** Stable identifier, for scripts and tests. */
  id: FindingId;
  status: FindingStatus;
  /** What was found, in one line. */
  summary: string;
  /** What it means for a mount, from what the kernel source does. */
  meaning: string;
  /** What the kernel writes to its log (dmesg) in this case, when it writes anything. */
  kernelSays?: string;
}

/** A directory as check() found it. */
export interface DirectoryInfo {
  path: string;
  /** The error code when it could not be opened as a directory ('ENOENT', 'ENOTDIR'...). */
  error?: string;
  /** The filesystem type, as mountinfo names it ('ext4', 'tmpfs'...). */
  fstype?: string;
  /** The mount's source (device) and mount point. */
  source?: string;
  mountPoint?: string;
  mountId: number;
  /** The mount or its filesystem is read-only. */
  readOnly: boolean;
  /** For a layer inside an image file: the image and the directory inside it (its mount is detached: no mountPoint). */
  image?: { image: string; path: string };
  /** A mounted overlay's upper or work that this directory is, or lies inside (lib/inspect/live-writers.ts). */
  inUse?: DirectoryInUse;
}

/** The mounted overlay writing to a directory check() was given. */
export interface DirectoryInUse {
  /** As which of its layers. */
  as: 'upper' | 'work';
  /** That layer's directory, as mountinfo names it. */
  path: string;
  /** True when the directory lies beneath it rather than being it. */
  inside: boolean;
  /** Where that overlay is mounted, and its mount id. */
  target: string;
  mountId: number;
}

export type ProbeState = 'supported' | 'unsupported' | 'untested';

export interface ProbeResult {
  state: ProbeState;
  /** Why it was refused or could not be tried ('EOPNOTSUPP', 'EINVAL'...). */
  code?: string;
}

export interface CheckProbes {
  /** readdir reports entry types (not DT_UNKNOWN). */
  dType: ProbeResult;
  /** A `trusted.overlay.*` xattr can be set, read back and removed. */
  trustedXattr: ProbeResult;
  /** A `user.overlay.*` xattr can (what a `userxattr` mount uses). */
  userXattr: ProbeResult;
  /** open(O_TMPFILE) works. */
  tmpfile: ProbeResult;
  /** renameat2(RENAME_WHITEOUT) leaves a 0/0 character device. */
  renameWhiteout: ProbeResult;
}

export interface CheckKernel extends KernelFeatures {
  /** uname -r. */
  release: string;
  /** Lower layers with xattr whiteouts are honoured (6.7+). */
  xattrWhiteouts: boolean;
  /** 'probe': learned by mounting a detached two-layer overlay; 'kernel-version': from `release` (no privilege to probe). */
  xattrWhiteoutsFrom: 'probe' | 'kernel-version';
}

export interface CheckResult {
  /** True when a mount would fully work: no finding is 'warn' or 'fail'. */
  ok: boolean;
  findings: Finding[];
  upper: DirectoryInfo;
  work: DirectoryInfo;
  lower: DirectoryInfo[];
  probes: CheckProbes;
  kernel: CheckKernel;
}

export interface CheckOptions {
  /** A directory, or `{ image, path, type? }` inside an image file (mounted detached for the look, as `mount` would). */
  upper: LayerSource;
  work: LayerSource;
  /** Lower layers to check too (each must open as a directory). */
  lower?: Array<LayerSource | SealedLayer | OciLayer>;
  /** Judge for a `userxattr` mount: overlay's xattrs then live in `user.overlay.*`. */
  userxattr?: boolean;
}
