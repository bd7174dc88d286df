// What this kernel's overlay offers. Most answers come from fsopen("overlay"),
// which needs CAP_SYS_ADMIN: without it nothing was asked, and the answers
// say so instead of passing for an old kernel.
import { native, type NativeKernelFeatures } from '../core/native';

export interface KernelFeatures extends NativeKernelFeatures {
  /**
   * False when the probes could not run (no CAP_SYS_ADMIN: fsopenErrno is
   * EPERM): newMountApi, overlayParsesParams, lowerdirPlus, layerFd and
   * moveMountBeneath then say nothing about the kernel (move_mount, like
   * fsopen, answers EPERM before it looks at its flags).
   */
  probed: boolean;
  /** Why the probes could not run, when `probed` is false. */
  notProbedReason?: string;
}

const EPERM = 1;
const EACCES = 13;

/** The addon's answers, with whether they could be asked at all. */
export function withProbeState<T extends NativeKernelFeatures>(features: T): T & KernelFeatures {
  if (features.fsopenErrno !== EPERM && features.fsopenErrno !== EACCES) return { ...features, probed: true };
  return { ...features, probed: false, notProbedReason: 'fsopen("overlay") was refused: probing needs root, or CAP_SYS_ADMIN' };
}

/** What this kernel's overlay offers, probed once per process. */
export function kernelFeatures(): KernelFeatures {
  return withProbeState(native.kernelFeatures());
}
