// A mounted overlay as an object that acts only on the mount it made: it
// remembers the kernel's ids of that mount and, before it unmounts or
// replaces, checks that the mount on the target is still that one, so a
// stack mounted on top, a later mount on the same path or a replacement is
// never taken for it.
import { invalid, OverlayError } from '../core/errors';
import type { MechanismName, ReplaceOptions } from '../request/mount-options';
import { mountById } from '../core/mount-table';
import { native, type NativeMountResult, type SealedUse } from '../core/native';
import { replaceWalk } from '../live/replace-stack';
import { runAsync, runSync } from '../core/sync-or-async';
import { umountFlags, type UmountOptions } from '../live/umount';
import { removeRecord, toMountedImages, type MountedImage } from '../images/image-record';

/** The new stack: everything `mount` takes except the target. */
export type { ReplaceOptions } from '../request/mount-options';

const EINVAL = 22;
const EBUSY = 16;

/**
 * A mounted overlay. Disposable: `await using m = await mount(...)` or
 * `using m = mountSync(...)` unmounts it when the scope ends.
 */
export class OverlayMount implements AsyncDisposable, Disposable {
  /** The absolute path it is mounted on. */
  readonly target: string;
  /** How it was handed to the kernel (docs/kernels.md, 'How a mount reaches the kernel'). */
  readonly mechanism: MechanismName;
  /** The kernel's mount id (mountinfo's first field), 0 if the kernel cannot say. */
  readonly mountId: number;
  /** The id the kernel never reuses for another mount (statx STATX_MNT_ID_UNIQUE, 6.8+), 0 where it has none. */
  readonly uniqueMountId: number;
  /** Non-fatal messages the kernel logged while mounting. */
  readonly warnings: readonly string[];
  /** The image files its layers came from, each mounted once (empty when no layer is an image). */
  readonly images: readonly MountedImage[];
  /** How its sealed layers were mounted (metacopy, redirect_dir, verity, each layer); absent when it has none. */
  readonly sealed?: SealedUse;
  // Set once this object has unmounted or replaced its mount.
  #released = false;
  // Where the record of its images is kept (lib/images/image-record.ts), if any.
  #recordFile: string | undefined;

  constructor(target: string, result: NativeMountResult) {
    this.target = target;
    this.mechanism = result.mechanism;
    this.mountId = result.mountId;
    this.uniqueMountId = result.uniqueMountId;
    this.warnings = result.warnings;
    this.images = toMountedImages(result.images);
    if (result.sealed) this.sealed = result.sealed;
    this.#recordFile = result.recordFile;
  }

  /**
   * Whether this object's mount is still in this mount namespace: false once
   * it unmounted or replaced it, and false when something else removed it.
   */
  get mounted(): boolean {
    if (this.#released) return false;
    if (this.uniqueMountId !== 0) return native.mountIdOfUniqueSync(this.uniqueMountId) !== 0;
    // Before 6.8 the short id is all there is: it must still name a mount on the same target.
    return mountById(this.mountId)?.target === this.target;
  }

  async unmount(options?: UmountOptions): Promise<void> {
    const flags = this.#ownFlags(options);
    this.#settle(await native.umountOverlay(this.target, flags, this.mountId, this.uniqueMountId, this.#recordFile));
  }

  unmountSync(options?: UmountOptions): void {
    const flags = this.#ownFlags(options);
    this.#settle(native.umountOverlaySync(this.target, flags, this.mountId, this.uniqueMountId, this.#recordFile));
  }

  /** Replaces this overlay with a new stack (see `replace`); this object then owns no mount. */
  async replace(options: ReplaceOptions): Promise<OverlayMount> {
    const next = new OverlayMount(...(await runAsync(replaceWalk(this.target, options, () => this.#checkOnTop()))));
    this.#release();
    return next;
  }

  /** Synchronous twin of {@link OverlayMount.replace}. */
  replaceSync(options: ReplaceOptions): OverlayMount {
    const next = new OverlayMount(...runSync(replaceWalk(this.target, options, () => this.#checkOnTop())));
    this.#release();
    return next;
  }

  /** At a scope's end: unmounts the mount if it is still there; one removed or replaced meanwhile is left alone. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.mounted) await this.unmount();
  }

  [Symbol.dispose](): void {
    if (this.mounted) this.unmountSync();
  }

  #ownFlags(options: UmountOptions | undefined): number {
    const flags = umountFlags(options, 'unmount()');
    // The check that the mount is its own walks the target path: a use, which clears an MNT_EXPIRE mark.
    if (options?.expire) {
      throw invalid('expire', 'an OverlayMount looks at its mount before unmounting it, which counts as a use and clears the expiry mark, so expire would never unmount it: use umount(target, { expire: true })');
    }
    if (this.#released) throw this.#notMine(undefined);
    return flags;
  }

  // The addon unmounted (undefined), removing the record of its images with it, or found another
  // mount: [its id, whether the target is a mount root].
  #settle(found: undefined | [number, boolean]): void {
    if (found !== undefined) throw this.#notMine(found);
    this.#released = true;
  }

  // Its mount is replaced: the record of its images goes too.
  #release(): void {
    this.#released = true;
    removeRecord(this.#recordFile);
  }

  #checkOnTop(): void {
    if (this.#released) throw this.#notMine(undefined);
    const [topId, topUnique, isMountRoot] = native.mountAt(this.target, this.uniqueMountId !== 0);
    // A unique id is never reused, so a match is this very mount; a short one must also still be mounted.
    const own = this.uniqueMountId !== 0 && topUnique !== 0 ? topUnique === this.uniqueMountId : topId === this.mountId && this.mounted;
    if (isMountRoot && own) return;
    throw this.#notMine([topId !== 0 ? topId : native.mountAt(this.target)[0], isMountRoot]);
  }

  /** The refusal, saying what is on the target now. */
  #notMine(found: undefined | [number, boolean]): OverlayError {
    const own = `this overlay (mount id ${this.mountId})`;
    if (found === undefined) return invalid('target', `${own} was already unmounted or replaced through this object`, EINVAL, this.target);
    const [foundId, isMountRoot] = found;
    const other = mountById(foundId);
    const now = !isMountRoot || other === undefined ? 'no mount' : `${other.fstype} mount id ${foundId} (source '${other.source}')`;
    if (this.mounted) {
      return invalid('target', `${own} is covered: ${now} is mounted on top of it at ${this.target}; unmount that first`, EBUSY, this.target);
    }
    return invalid('target', `${own} is no longer mounted; on ${this.target} now: ${now}`, EINVAL, this.target);
  }
}
