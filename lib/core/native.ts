// The one module that loads the addon. Everything native goes through the
// interface below, so the rest of lib/ is typed end to end.
import path from 'node:path';
import nodeGypBuild = require('node-gyp-build');
import { OverlayError, type OverlayErrorInfo } from './errors';
import type { Atime, MechanismName, Propagation } from './mount-words';

/** The filesystems an image layer may hold; left out, the superblock says. */
export type ImageType = 'ext4' | 'erofs' | 'squashfs';

/** [image, path inside, type], as the addon takes one image layer. */
export type NativeImageSpec = [image: string, path: string | undefined, type: ImageType | undefined, digest?: string];

/**
 * Per slot, null for a plain directory: [lower, data, upper, work], and, for
 * an upper or work in an image, the directories live overlays use
 * (lib/inspect/image-dirs-in-use.ts): [device "major:minor:inode", who uses it].
 */
export type NativeImages = [
  lower: Array<NativeImageSpec | null>,
  data: Array<NativeImageSpec | null>,
  upper: NativeImageSpec | null,
  work: NativeImageSpec | null,
  inUse?: Array<[id: string, holder: string]>,
];

/** What the addon takes for idmapped layers: map lines as /proc/PID/uid_map reads them, or a namespace path. */
export type NativeIdmap = { uidMap: string; gidMap: string } | { userns: string };

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
  atime?: Atime;
  propagation?: Propagation;
  idmap?: NativeIdmap;
  mechanism?: MechanismName;
  /** Which layers are image files (lib/images/image-layers.ts); absent when none is. */
  images?: NativeImages;
  /** The sealed layers (lib/seal/sealed-layer.ts), checked before the addon is called; absent when none is. */
  sealed?: SealedUse;
}

/** One sealed layer of a request: its field ('lower[2]'), image, store, and the digest asked ('sha256:<hex>'). */
export interface NativeSealedSpec {
  field: string;
  image: string;
  store: string;
  digest?: string;
}

/** How a stack with sealed layers is mounted: the options chosen for them and each sealed layer. */
export interface SealedUse {
  metacopy: true;
  redirectDir: 'on' | 'follow';
  /** The `verity=` asked, 'off' when none was (the kernel's default). */
  verity: 'on' | 'off' | 'require';
  /** Where the stores went: data-only layers (6.5+), or the bottom lower layers on older kernels. */
  storesAs: 'data' | 'lower';
  layers: NativeSealedSpec[];
}

/** Where the addon records a mount's images and how many other records it picks (lib/images/image-record-write.ts). */
export type NativeRecordArgument = [dir: string, sample: number];

/** NativeMountRequest as positional arguments, in native/core/mount_args.h's order (lib/request/native-mount.ts says why, and packs it); options flat, a null value is a bare flag. */
type PackedMountRequest = [
  target: string,
  lower: string[],
  data: string[],
  upper: string | undefined,
  work: string | undefined,
  options: Array<string | null>,
  flags: number,
  atime: string | undefined,
  propagation: string | undefined,
  idmap: NativeIdmap | undefined,
  mechanism: string | undefined,
  images: NativeImages | undefined,
  record?: NativeRecordArgument,
];

export interface NativeRemountRequest {
  target: string;
  /** Left out: unchanged; true: set; false: clear. */
  readOnly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  atime?: Atime;
  propagation?: Propagation;
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
  /** The mount id the kernel never reuses (6.8+), 0 where it has none. */
  uniqueMountId: number;
  /** Each image mounted for the overlay, once; only when layers came from images. */
  images?: NativeImageInfo[];
  /** The overlay's device as mountinfo shows it ('0:45'); only when layers came from images. */
  superblock?: string;
  /** The record the addon wrote of its images (lib/images/image-record.ts); only when one was. */
  recordFile?: string;
  /** A few other records, picked at random, for the caller to check (lib/images/image-record-live.ts). */
  pruneSample?: string[];
  /** How its sealed layers were mounted; only when it has some (set from the request, lib/request/native-mount.ts). */
  sealed?: SealedUse;
}

/** [image, type, dev, ino, loop (-1: none), writable]: one image a mount used. */
export type NativeImageInfo = [image: string, type: string, dev: number, ino: number, loop: number, writable: boolean];

/** [mechanism, mountId, warnings, uniqueMountId, images?, superblock?, recordFile?, pruneSample?]: the packed result of a mount or replace (lib/request/native-mount.ts says why packed, and unpacks it). */
export type PackedMountResult = [string, number, string[], number, NativeImageInfo[]?, string?, string?, string[]?];

/** A layer walk held by the addon (an External): only layerChanges* read it. */
export type NativeChangesWalk = { readonly __nativeChangesWalk: unique symbol };
export type NativeZstdStream = { readonly __nativeZstdStream: unique symbol };

/** [mechanism, mountId, warnings, uniqueMountId, fd]: a built overlay, packed as a mount's result with its fd last. */
export type PackedBuiltOverlay = [string, number, string[], number, number];
/** fds, targets, modes (0 attach, 1 replace, 2 unmount), expected [mountId, uniqueId] pairs flat, propagations ('' none). */
export type PackedSwitchSteps = [number[], string[], number[], number[], string[]];
/** [[mountId, uniqueId, busy] per step done, the error that stopped it]. */
export type PackedSwitchResult = [Array<[number, number, boolean]>, OverlayError | undefined];

/** What this kernel's overlay accepts, probed once per process (lib/inspect/kernel.ts adds whether it could be). */
export interface NativeKernelFeatures {
  newMountApi: boolean;
  overlayParsesParams: boolean;
  lowerdirPlus: boolean;
  layerFd: boolean;
  moveMountBeneath: boolean;
  fsopenErrno: number;
}

export interface NativeCheckRequest {
  upper: string;
  work: string;
  lower: string[];
  /** [lower specs, upper spec, work spec] when any layer is an image; then, for an image upper or work, the directories live overlays use (lib/inspect/image-dirs-in-use.ts). */
  images?: [Array<NativeImageSpec | null>, NativeImageSpec | null, NativeImageSpec | null, Array<[id: string, holder: string]>?];
  /** A mounted overlay writes in work (lib/inspect/live-writers.ts): the probes, which write there, are not run. */
  workInUse?: boolean;
}

/** One probe's answer; errno (positive) says why it was refused or not tried. */
export interface NativeCapability {
  state: 'supported' | 'unsupported' | 'untested';
  errno: number;
}

export interface NativeDirFacts {
  path: string;
  /** Positive errno when it could not be opened as a directory, else 0. */
  openErrno: number;
  mountId: number;
  /** statfs f_type. */
  fsMagic: number;
  readOnly: boolean;
  /** The image's filesystem, for a layer inside an image file. */
  imageType?: string;
}

export interface NativeCheckReport {
  upper: NativeDirFacts;
  work: NativeDirFacts;
  lower: NativeDirFacts[];
  relation: 'separate' | 'different-mounts' | 'same' | 'work-inside-upper' | 'upper-inside-work' | 'unknown';
  probes: {
    ran: boolean;
    scratchErrno: number;
    dType: NativeCapability;
    trustedXattr: NativeCapability;
    userXattr: NativeCapability;
    tmpfile: NativeCapability;
    renameWhiteout: NativeCapability;
    leftovers: string[];
  };
  /** Entries of work/work/incompat; errno when it exists but could not be read. */
  incompat: { errno: number; entries: string[] };
  kernel: NativeKernelFeatures & { xattrWhiteouts: boolean | null };
}

/** How a path beneath a root is resolved: openat2 (5.6+) or a walk, one component at a time. */
export type Resolver = 'openat2' | 'walk';

/** An entry in a layer: `path` relative to `root` when there is one, else as given. */
export interface NativeEntryRequest {
  root?: string;
  path: string;
  userxattr: boolean;
  resolver?: Resolver;
}

export type WhiteoutKind = 'chardev' | 'xattr';

export interface NativeWhiteoutRequest extends NativeEntryRequest {
  kind: WhiteoutKind;
  force: boolean;
}

export interface NativeWhiteoutsRequest {
  root: string;
  paths: string[];
  kind: WhiteoutKind;
  force: boolean;
  userxattr: boolean;
  resolver?: Resolver;
}

export type OpaqueValue = 'y' | 'x';

/** One entry (xattr '') or one xattr of an entry that exportLayer did not write: [path bytes, xattr, errno, reason]. */
export type NativeExportSkip = [Buffer, string, number, string];

export interface NativeBinding {
  setErrorFactory(factory: (info: OverlayErrorInfo) => Error): void;
  // mount, replace and build take the one packed form (lib/request/native-mount.ts packs and unpacks it); every other call an object or scalars.
  mountOverlay(...request: PackedMountRequest): Promise<PackedMountResult>;
  mountOverlaySync(...request: PackedMountRequest): PackedMountResult;
  remountOverlay(request: NativeRemountRequest): Promise<NativeRemountResult>;
  remountOverlaySync(request: NativeRemountRequest): NativeRemountResult;
  replaceOverlay(...request: PackedMountRequest): Promise<PackedMountResult>;
  replaceOverlaySync(...request: PackedMountRequest): PackedMountResult;
  /** apply's halves (native/apply/build_entry.cc, native/apply/switch_entry.cc): a detached overlay's fd, then the switch of every target. */
  buildOverlay(...request: PackedMountRequest): Promise<PackedBuiltOverlay>;
  buildOverlaySync(...request: PackedMountRequest): PackedBuiltOverlay;
  switchOverlays(...steps: PackedSwitchSteps): Promise<PackedSwitchResult>;
  switchOverlaysSync(...steps: PackedSwitchSteps): PackedSwitchResult;
  /** The bits of mountOverlay's, replaceOverlay's and buildOverlay's `flags` argument; the addon owns them (native/core/mount_args.h). */
  readonly mountFlagBits: Readonly<{ readOnly: number; nosuid: number; nodev: number; noexec: number }>;
  /** The bits of umountOverlay's `flags` argument; the addon owns them (native/live/umount_entry.cc). */
  readonly umountFlagBits: Readonly<{ detach: number; force: number; expire: number; noFollow: number }>;
  /** flags: umountFlagBits. With the ids of the caller's own mount it unmounts only that mount, else resolves to [mount id, is a mount root] of what it found there. */
  // recordFile: the record of the mount's images, removed once it is unmounted.
  umountOverlay(target: string, flags: number, ownMountId?: number, ownUniqueId?: number, recordFile?: string): Promise<undefined | [number, boolean]>;
  umountOverlaySync(target: string, flags: number, ownMountId?: number, ownUniqueId?: number, recordFile?: string): undefined | [number, boolean];
  /** [mountId, uniqueMountId (0 before 6.8), is a mount root, the file name its image record would have] of the topmost mount at `path`; `uniqueOnly` leaves mountId 0 where the unique id is known. */
  mountAt(path: string, uniqueOnly?: boolean): [number, number, boolean, string];
  kernelFeatures(): NativeKernelFeatures;
  checkOverlay(request: NativeCheckRequest): Promise<NativeCheckReport>;
  checkOverlaySync(request: NativeCheckRequest): NativeCheckReport;
  whiteout(request: NativeWhiteoutRequest): Promise<void>;
  whiteoutSync(request: NativeWhiteoutRequest): void;
  whiteouts(request: NativeWhiteoutsRequest): Promise<void>;
  whiteoutsSync(request: NativeWhiteoutsRequest): void;
  isWhiteout(request: NativeEntryRequest): Promise<WhiteoutKind | false>;
  isWhiteoutSync(request: NativeEntryRequest): WhiteoutKind | false;
  setOpaque(request: NativeEntryRequest): Promise<void>;
  setOpaqueSync(request: NativeEntryRequest): void;
  isOpaque(request: NativeEntryRequest): Promise<OpaqueValue | false>;
  isOpaqueSync(request: NativeEntryRequest): OpaqueValue | false;
  clearOpaque(request: NativeEntryRequest): Promise<void>;
  clearOpaqueSync(request: NativeEntryRequest): void;
  /** The mountinfo id of the mount with this unique id (statmount, 6.8+), 0 when none is mounted in this namespace. */
  mountIdOfUnique(uniqueMountId: number): Promise<number>;
  mountIdOfUniqueSync(uniqueMountId: number): number;
  /** A walk of a layer's changes, opened lazily by its first batch; nothing is touched yet. */
  layerChangesOpen(upper: string | Buffer, lower: Array<string | Buffer>, userxattr: boolean): NativeChangesWalk;
  /** The walk's next `max` changes at most, in path order: every path NUL-ended in one Buffer, their kinds ('A', 'C', 'D') as one string, and whether the walk is over (then closed). */
  layerChangesNext(walk: NativeChangesWalk, max: number): Promise<[Buffer, string, boolean]>;
  layerChangesNextSync(walk: NativeChangesWalk, max: number): [Buffer, string, boolean];
  /** Closes the walk's fds; false (nothing done) while a batch is being read in a worker. */
  layerChangesClose(walk: NativeChangesWalk): boolean;
  /** An upper written in OCI form into the empty directory dest; resolves to what was skipped: [path bytes, xattr ('' for the entry), errno, reason]. */
  exportLayer(upper: string | Buffer, dest: string | Buffer, userxattr: boolean, lossy?: boolean): Promise<NativeExportSkip[]>;
  exportLayerSync(upper: string | Buffer, dest: string | Buffer, userxattr: boolean, lossy?: boolean): NativeExportSkip[];
  /** The first entry of upper the caller's privileges cannot export as it is ([path bytes, reason, errno the export would fail with]); unreadableOnly: only what it cannot read at all. */
  findUnkeepable(upper: string | Buffer, userxattr: boolean, unreadableOnly: boolean): Promise<[Buffer, string, number] | undefined>;
  findUnkeepableSync(upper: string | Buffer, userxattr: boolean, unreadableOnly: boolean): [Buffer, string, number] | undefined;
  /** Only upper's own owner, mode, xattrs (but the overlay's) and times, onto the directory dest; resolves to what was skipped, as exportLayer. */
  exportLayerRoot(upper: string | Buffer, dest: string | Buffer, userxattr: boolean, lossy?: boolean): Promise<NativeExportSkip[]>;
  exportLayerRootSync(upper: string | Buffer, dest: string | Buffer, userxattr: boolean, lossy?: boolean): NativeExportSkip[];
  /**
   * The directory where toOci makes its temporaries, entered as
   * native/layers/whiteout_temps.h says: a dead convert's leftovers there removed
   * when no one else holds it, then an fd of it holding a shared flock, which
   * the caller closes once its own temporaries are gone; -1 when it cannot be locked.
   */
  enterTempDir(dir: string | Buffer): Promise<number>;
  enterTempDirSync(dir: string | Buffer): number;
  /** The finished temporary `temp` inside dir moved up into dir, each entry first written to the journal `temp.moved`, which the caller removes when done. */
  moveOciExportUp(dir: string | Buffer, temp: string | Buffer): Promise<void>;
  moveOciExportUpSync(dir: string | Buffer, temp: string | Buffer): void;
  /** The temporary `temp` inside dir removed, with what its journal says it moved up (a failed export undone as a crash's is). */
  removeOciTemp(dir: string | Buffer, temp: string | Buffer): Promise<void>;
  removeOciTempSync(dir: string | Buffer, temp: string | Buffer): void;
  /** An unpacked OCI layer converted in place to overlay form, all or nothing (native/convert/oci_convert_entry.cc); what an undo could not put back is in the error's detail, each line starting 'not undone: '. */
  convertOciLayer(dir: string | Buffer, kind: WhiteoutKind, userxattr: boolean): Promise<void>;
  convertOciLayerSync(dir: string | Buffer, kind: WhiteoutKind, userxattr: boolean): void;
  /** A file's fs-verity digest (sha256, 4096-byte blocks, no salt) in hex, computed in user space (native/images/fsverity_digest.h). */
  fsverityDigest(path: string): Promise<string>;
  fsverityDigestSync(path: string): string;
  /** Every `xx/<62 hex>` object of a store measured: [objects, [object, errnum (0: another digest), its digest now]]. */
  verifyStore(store: string): Promise<NativeStoreReport>;
  verifyStoreSync(store: string): NativeStoreReport;
  /** [store's statfs f_type, the object asked or '', FS_IOC_MEASURE_VERITY's errno on it (0: enabled)]. */
  probeStoreVerity(store: string): Promise<NativeVerityProbe>;
  probeStoreVeritySync(store: string): NativeVerityProbe;
  /** The files of a sealed image (mounted detached, read-only) whose redirect leads to no object in the store: [[object, file in the image]]; `field` names the image in an error. */
  missingObjects(image: string, store: string, field: string): Promise<Array<[object: string, file: string]>>;
  missingObjectsSync(image: string, store: string, field: string): Array<[object: string, file: string]>;
  /** The files of a sealed image whose object the kernel would refuse under verity=require: [[object, file, errnum]], errnum ENODATA for no fs-verity, 0 for another digest than the file's metacopy holds, else open's errno. */
  unverifiedObjects(image: string, store: string, field: string): Promise<Array<[object: string, file: string, errnum: number]>>;
  unverifiedObjectsSync(image: string, store: string, field: string): Array<[object: string, file: string, errnum: number]>;
  /** A device or fifo made at path (mknod; the mode masked by the umask, set again by the caller): for unpack's layer writer (native/oci/layer_nodes_entry.cc). */
  makeLayerNode(path: string, type: NativeNodeType, mode: number, major: number, minor: number): Promise<void>;
  makeLayerNodeSync(path: string, type: NativeNodeType, mode: number, major: number, minor: number): void;
  /** Every extended attribute of path, the last component not followed (native/oci/xattrs_entry.cc); none on a filesystem without them. */
  readXattrs(path: string): Promise<NativeXattr[]>;
  readXattrsSync(path: string): NativeXattr[];
  /** Sets one extended attribute (created or replaced), the last component not followed; the error's `subject` is the attribute. */
  writeXattr(path: string, name: string, value: Buffer): Promise<void>;
  writeXattrSync(path: string, name: string, value: Buffer): void;
  /** A seal's locks (native/seal/seal_temps.h): [fd holding the store's shared lock, fd holding IMAGE's directory's (-1: none, or the store's stands for it), dead staging directories there (names) to remove, dead object temporaries removed]; the fds are the caller's to close. */
  enterSealTemps(store: string, imageDir: string): Promise<[storeFd: number, imageDirFd: number, stale: string[], removedObjects: number]>;
  enterSealTempsSync(store: string, imageDir: string): [storeFd: number, imageDirFd: number, stale: string[], removedObjects: number];
  /** A zstd stream (libzstd, native/oci/zstd_entry.cc): compressing at `level`, or decompressing. */
  zstdOpen(compress: boolean, level: number): NativeZstdStream;
  /** Every output slice `input` gives; `end`: the frame finished (compressing), or an Error with code ZSTD_ERROR if the stream stopped inside one (decompressing); a damaged stream throws the same. */
  zstdPush(stream: NativeZstdStream, input: Buffer, end: boolean): Buffer[];
  /** Frees the stream's context now (a closed stream refuses more input). */
  zstdClose(stream: NativeZstdStream): void;
  /** `source` sealed: its image written to `image` (a new file), each regular file's content put into `store` (native/seal/seal_image.h): [files, objects added, their bytes]. */
  sealImage(source: string, store: string, image: string): Promise<NativeSealCounts>;
  sealImageSync(source: string, store: string, image: string): NativeSealCounts;
}

export type NativeNodeType = 'chardev' | 'blockdev' | 'fifo';
/** An xattr as the addon hands it over: name and raw value. */
export type NativeXattr = [name: string, value: Buffer];
export type NativeSealCounts = [files: number, added: number, addedBytes: number];

export type NativeStoreReport = [objects: number, problems: Array<[object: string, errnum: number, actual: string]>];
export type NativeVerityProbe = [fsType: number, object: string, errnum: number];

const packageRoot = path.join(__dirname, '..', '..', '..');

/**
 * OVERLAY_NATIVE_ADDON, a test hook: loads another build of this package's
 * own addon (the cmake-js build, the sanitizer build) so the same tests run
 * against it. Only a file inside this package is taken, so the variable
 * cannot make a program that uses the library load code from anywhere else.
 */
function addonOverride(): string | undefined {
  const override = process.env.OVERLAY_NATIVE_ADDON;
  if (!override) return undefined;
  const file = path.resolve(override);
  const inside = path.relative(packageRoot, file);
  if (inside.split(path.sep)[0] === '..' || path.isAbsolute(inside) || !file.endsWith('.node')) {
    throw new Error(`OVERLAY_NATIVE_ADDON (${override}) must name a .node file inside ${packageRoot}: it is a test hook for this package's own builds`);
  }
  return file;
}

function load(): NativeBinding {
  const override = addonOverride();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const binding = (override ? require(override) : nodeGypBuild(packageRoot)) as NativeBinding;
  binding.setErrorFactory((info) => new OverlayError(info));
  return binding;
}

export const native: NativeBinding = load();
