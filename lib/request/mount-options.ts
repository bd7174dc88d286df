// The shape of a mount request, and every key it may have: the checks, the
// types and the CLI all read them from here.
import type { IdmapOptions } from './idmap';
import type { LayerSource } from '../images/image-layers';
import type { SealedLayer } from '../seal/sealed-layer';
import type { OciLayer } from '../oci/oci-layers';
import type { Atime, MechanismName, Propagation } from '../core/mount-words';
import { LSM_KEYS, type LsmLabels } from './lsm-options';
import { FEATURES, type OverlayFeatures } from './overlay-options';

export { ATIMES, MECHANISMS, PROPAGATIONS, type Atime, type MechanismName, type Propagation } from '../core/mount-words';

/** Per-mount flags, as mount(8) -o knows them. */
export interface MountFlags {
  /** Read-only mount and superblock (`ro`); without upper an overlay is always read-only. */
  readOnly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  /** Shorthand for `atime: 'noatime'`. */
  noatime?: boolean;
  atime?: Atime;
}

/**
 * The layers of an overlay. Each is a directory, or `{ image, path?, type? }`:
 * a directory inside an ext4, erofs or squashfs image file (lib/images/image-layers.ts);
 * a lower may also be `{ sealed, store, digest? }`, a sealed image over its object store
 * (lib/seal/sealed-layer.ts). A lower or data layer may also be `{ oci, ref }`: an
 * image `unpack` stored, standing for its layers in order (lib/oci/oci-layers.ts).
 */
export interface OverlayLayers {
  /** Lower layers, in the order of `lowerdir=`: the first is the top. */
  lower: Array<LayerSource | SealedLayer | OciLayer>;
  /** Data-only lower layers (`lowerdir=a::data`, `datadir+`; 6.5+, with metacopy and redirects). */
  data?: Array<LayerSource | OciLayer>;
  /** The writable layer; needs `work` on the same mount. */
  upper?: LayerSource;
  /** Overlay's scratch directory: empty, on the same mount as `upper`, not inside it. */
  work?: LayerSource;
}

export interface MountOptions extends OverlayLayers, OverlayFeatures, MountFlags, LsmLabels {
  /** The directory to mount on. */
  target: string;
  /** Mount propagation, so mounts beneath it do or do not spread to other mount namespaces. */
  propagation?: Propagation;
  /** Idmapped lower layers (5.19+ overlay; before 6.8 through mount(2) in a private mount namespace; each lower's filesystem must support idmapped mounts). */
  idmap?: IdmapOptions;
  /**
   * Force one mechanism instead of the best this kernel offers (for tests and
   * for diagnosing kernels): 'fsconfig-fd', 'fsconfig-path', 'mount',
   * 'mount-fd-path' or 'mount-fd-relative'.
   */
  mechanism?: MechanismName;
}

/** The most lower layers (lower and data together) overlay stacks: OVL_MAX_STACK. */
export const MAX_LAYERS = 500;

/** Every key of MountFlags. */
const MOUNT_FLAG_KEYS = ['readOnly', 'nosuid', 'nodev', 'noexec', 'noatime', 'atime'] as const;

/** Every key MountOptions has: anything else is refused as a typo. */
export const MOUNT_OPTION_KEYS: ReadonlySet<string> = new Set([
  'target',
  'lower',
  'data',
  'upper',
  'work',
  ...FEATURES.map((f) => f.field),
  ...MOUNT_FLAG_KEYS,
  ...LSM_KEYS,
  'propagation',
  'idmap',
  'mechanism',
]);

/** The new stack of a replace: everything `mount` takes except the target. */
export type ReplaceOptions = Omit<MountOptions, 'target'>;
