import * as fs from 'node:fs';
import type { MountOptions } from './mount-options';
import type { MechanismName, NativeMountResult } from './native';
import { mountOverlay, mountOverlaySync } from './native-mount';
import { replace, replaceSync, type ReplaceOptions } from './replace';
import { umount, umountSync, type UmountOptions } from './umount';
import { toNativeRequest } from './validate';
import { recordFileOf, removeRecord, toMountedImages, writeRecord, writeRecordSync, type MountedImage } from './image-record';
import type { NativeMountRequest } from './native';

/**
 * A mounted overlay. Disposable: `await using m = await mount(...)` or
 * `using m = mountSync(...)` unmounts it when the scope ends.
 */
export class OverlayMount implements AsyncDisposable, Disposable {
  /** The absolute path it is mounted on. */
  readonly target: string;
  /** How it was handed to the kernel (see the README's table). */
  readonly mechanism: MechanismName;
  /** The kernel's mount id (mountinfo's first field), 0 if the kernel cannot say. */
  readonly mountId: number;
  /** Non-fatal messages the kernel logged while mounting. */
  readonly warnings: readonly string[];
  /** The image files its layers came from, each mounted once (empty when no layer is an image). */
  readonly images: readonly MountedImage[];
  #mounted = true;
  #recordFile: string | undefined;

  constructor(target: string, result: NativeMountResult) {
    this.target = target;
    this.mechanism = result.mechanism;
    this.mountId = result.mountId;
    this.warnings = result.warnings;
    this.images = toMountedImages(result.images);
    this.#recordFile = recordFileOf(result);
  }

  /** Whether this object has not unmounted it yet. */
  get mounted(): boolean {
    return this.#mounted;
  }

  async unmount(options?: UmountOptions): Promise<void> {
    await umount(this.target, options);
    this.#gone();
  }

  unmountSync(options?: UmountOptions): void {
    umountSync(this.target, options);
    this.#gone();
  }

  #gone(): void {
    this.#mounted = false;
    removeRecord(this.#recordFile);
  }

  /** Replaces this overlay with a new stack (see `replace`); this object then owns no mount. */
  async replace(options: ReplaceOptions): Promise<OverlayMount> {
    const next = await replace(this.target, options);
    this.#gone();
    return next;
  }

  /** Synchronous twin of {@link OverlayMount.replace}. */
  replaceSync(options: ReplaceOptions): OverlayMount {
    const next = replaceSync(this.target, options);
    this.#gone();
    return next;
  }

  // A scope's end must not unmount a stack that replaced this one on the same target.
  #stillMounted(): boolean {
    if (!this.#mounted || this.mountId === 0) return this.#mounted;
    const escaped = this.target.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
    const mine = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((line) => line.startsWith(`${this.mountId} `) && line.split(' ')[4] === escaped);
    if (!mine) this.#mounted = false;
    return mine;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#stillMounted()) await this.unmount();
  }

  [Symbol.dispose](): void {
    if (this.#stillMounted()) this.unmountSync();
  }
}

/**
 * Mounts an overlay, off the event loop. Every layer is opened and checked
 * first; the kernel's own reason comes back in `err.detail` on failure.
 */
export async function mount(options: MountOptions): Promise<OverlayMount> {
  const request = toNativeRequest(options);
  const result = await mountOverlay(request);
  return mounted(request, result, request.images ? await writeRecord(request, result) : undefined);
}

/** Synchronous twin of {@link mount}. */
export function mountSync(options: MountOptions): OverlayMount {
  const request = toNativeRequest(options);
  const result = mountOverlaySync(request);
  return mounted(request, result, request.images ? writeRecordSync(request, result) : undefined);
}

/** The mount's object; a record that could not be written becomes one more warning. */
export function mounted(request: NativeMountRequest, result: NativeMountResult, recordWarning: string | undefined): OverlayMount {
  if (recordWarning !== undefined) result.warnings.push(recordWarning);
  return new OverlayMount(request.target, result);
}
