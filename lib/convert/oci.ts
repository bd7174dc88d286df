// Moving layers between OCI image form and overlay form.
export { fromOci, fromOciSync, type FromOciError, type FromOciOptions } from './from-oci';
export { toOci, toOciSync, type ToOciOptions, type ToOciResult, type SkippedEntry, type UnprivilegedExport } from './to-oci';
