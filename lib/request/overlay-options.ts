// Overlay's own mount options (fs/overlayfs/params.c), typed. One table
// drives the checks, the kernel option pairs, and the option-string parser.

export type RedirectDir = 'on' | 'follow' | 'nofollow' | 'off';
export type Xino = 'on' | 'off' | 'auto';
export type Uuid = 'on' | 'off' | 'null' | 'auto';
export type Verity = 'on' | 'off' | 'require';
export type Fsync = 'auto' | 'strict' | 'volatile';

/** Overlay features, each one of the kernel's mount options. */
export interface OverlayFeatures {
  /** `redirect_dir=`: how directory renames are recorded and followed. */
  redirectDir?: RedirectDir;
  /** `index=on|off`: inode index, needed for hard links across copy-up and NFS export. */
  index?: boolean;
  /** `metacopy=on|off`: copy up metadata only until data changes. */
  metacopy?: boolean;
  /** `nfs_export=on|off`: file handles that survive remounts (needs index). */
  nfsExport?: boolean;
  /** `xino=`: compose unique inode numbers across layers. */
  xino?: Xino;
  /** `uuid=`: how the overlay identifies its layers. */
  uuid?: Uuid;
  /** `verity=`: check fs-verity digests of metacopy files. */
  verity?: Verity;
  /** `userxattr`: use `user.overlay.*` xattrs (unprivileged mounts, 5.11+). */
  userxattr?: boolean;
  /** `volatile`: skip sync; the upper is unusable after a crash. */
  volatile?: boolean;
  /** `default_permissions`: check permissions on the overlay inode only. */
  defaultPermissions?: boolean;
  /** `override_creds` / `nooverride_creds` (6.15+). */
  overrideCreds?: boolean;
  /** `fsync=` (newest kernels). */
  fsync?: Fsync;
}

type Kind =
  | { type: 'onoff' } // index=on|off
  | { type: 'enum'; values: readonly string[] } // xino=auto
  | { type: 'flag' } // userxattr (false: omitted)
  | { type: 'pair'; off: string }; // override_creds / nooverride_creds

export interface FeatureSpec {
  field: keyof OverlayFeatures;
  key: string;
  kind: Kind;
  /**
   * The value every kernel that knows the option takes when it is absent.
   * Asked for, it is left out: a kernel from before the option (verity=
   * before 6.6) would refuse it with a bare EINVAL for asking what it does
   * anyway.
   */
  kernelDefault?: string;
}

export const FEATURES: readonly FeatureSpec[] = [
  { field: 'redirectDir', key: 'redirect_dir', kind: { type: 'enum', values: ['on', 'follow', 'nofollow', 'off'] } },
  { field: 'index', key: 'index', kind: { type: 'onoff' } },
  { field: 'metacopy', key: 'metacopy', kind: { type: 'onoff' } },
  { field: 'nfsExport', key: 'nfs_export', kind: { type: 'onoff' } },
  { field: 'xino', key: 'xino', kind: { type: 'enum', values: ['on', 'off', 'auto'] } },
  { field: 'uuid', key: 'uuid', kind: { type: 'enum', values: ['on', 'off', 'null', 'auto'] } },
  { field: 'verity', key: 'verity', kind: { type: 'enum', values: ['on', 'off', 'require'] }, kernelDefault: 'off' },
  { field: 'userxattr', key: 'userxattr', kind: { type: 'flag' } },
  { field: 'volatile', key: 'volatile', kind: { type: 'flag' } },
  { field: 'defaultPermissions', key: 'default_permissions', kind: { type: 'flag' } },
  { field: 'overrideCreds', key: 'override_creds', kind: { type: 'pair', off: 'nooverride_creds' } },
  { field: 'fsync', key: 'fsync', kind: { type: 'enum', values: ['auto', 'strict', 'volatile'] } },
];

/** The kernel option pair for one feature value, or undefined when it adds nothing. */
export function toKernelOption(spec: FeatureSpec, value: unknown): [string, string?] | undefined {
  if (spec.kernelDefault !== undefined && value === spec.kernelDefault) return undefined;
  switch (spec.kind.type) {
    case 'onoff':
      return [spec.key, value ? 'on' : 'off'];
    case 'enum':
      return [spec.key, value as string];
    case 'flag':
      return value ? [spec.key] : undefined;
    case 'pair':
      return [value ? spec.key : spec.kind.off];
  }
}
