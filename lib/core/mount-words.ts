// The enumerated words of a mount request (atime, propagation, mechanism),
// each list written once. It imports nothing, so the addon's typed surface
// (native.ts) and the option types (mount-options.ts) can both use it.

export const ATIMES = ['relatime', 'noatime', 'strictatime'] as const;
export type Atime = (typeof ATIMES)[number];

export const PROPAGATIONS = ['private', 'shared', 'slave', 'unbindable'] as const;
export type Propagation = (typeof PROPAGATIONS)[number];

/** The ways the addon can hand an overlay to the kernel, best first (docs/kernels.md, 'How a mount reaches the kernel'). */
export const MECHANISMS = ['fsconfig-fd', 'fsconfig-path', 'mount', 'mount-fd-path', 'mount-fd-relative'] as const;
export type MechanismName = (typeof MECHANISMS)[number];
