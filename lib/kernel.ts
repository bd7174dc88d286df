import { native, type KernelFeatures } from './native';

/** What this kernel's overlay offers, probed once per process (needs CAP_SYS_ADMIN to see the new mount API). */
export function kernelFeatures(): KernelFeatures {
  return { ...native.kernelFeatures() };
}
