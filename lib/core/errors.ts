import { getSystemErrorMap } from 'node:util';

/** What the addon (or a check before it) knows about a failure. */
export interface OverlayErrorInfo {
  /** Positive errno, as the kernel returns it. */
  errno: number;
  syscall?: string;
  path?: string;
  /** What the message quotes when it is not the path, such as an fsconfig key. */
  subject?: string;
  /** The request field at fault: 'lower[3]', 'upper', 'work', 'target', an option name... */
  field?: string;
  /** Our own explanation, for a check made before the kernel was asked. */
  reason?: string;
  /** The kernel's own words, from the fs_context log. */
  detail?: string[];
}

let errnoNames: Map<number, [string, string]> | undefined;
function describeErrno(errno: number): [string, string] {
  errnoNames ??= getSystemErrorMap();
  return errnoNames.get(-errno) ?? [`E${errno}`, `unknown error ${errno}`];
}

function quote(s: string): string {
  return `'${s}'`;
}

const EPERM = 1;
/** The system calls that mount, unmount or change a mount: each needs CAP_SYS_ADMIN. */
const MOUNT_SYSCALLS: ReadonlySet<string> = new Set(['mount', 'umount2', 'fsopen', 'fsconfig', 'fsmount', 'move_mount', 'fspick', 'open_tree', 'mount_setattr']);

/** What to do about an error, when the errno alone does not say it. */
function hintFor(info: OverlayErrorInfo): string | undefined {
  if (info.errno === EPERM && info.syscall && MOUNT_SYSCALLS.has(info.syscall)) {
    return 'mounting needs root, or CAP_SYS_ADMIN in the mount namespace';
  }
  return undefined;
}

function composeMessage(code: string, description: string, info: OverlayErrorInfo): string {
  if (info.reason !== undefined) {
    const where = info.field ? `${info.field}: ` : '';
    return `${code}: ${where}${info.reason}`;
  }
  const quoted = [info.subject, info.path].filter((s): s is string => !!s).map(quote).join(' ');
  const call = info.syscall ? `, ${info.syscall}${quoted ? ' ' + quoted : ''}` : quoted ? `, ${quoted}` : '';
  const notes = [...(info.detail ?? []), hintFor(info)].filter((n): n is string => !!n);
  const detail = notes.length ? ` (${notes.join('; ')})` : '';
  return `${code}: ${description}${call}${detail}`;
}

/**
 * The error every call of this package throws or rejects with, shaped like
 * Node's fs errors (`code`, negative `errno`, `syscall`, `path`) plus `field`,
 * the part of the request at fault, and `detail`, the kernel's own words.
 */
export class OverlayError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall?: string;
  readonly path?: string;
  readonly field?: string;
  readonly reason?: string;
  readonly detail: string[];

  constructor(info: OverlayErrorInfo) {
    const [code, description] = describeErrno(info.errno);
    super(composeMessage(code, description, info));
    this.name = 'OverlayError';
    this.code = code;
    this.errno = -info.errno;
    if (info.syscall !== undefined) this.syscall = info.syscall;
    if (info.path !== undefined) this.path = info.path;
    if (info.field !== undefined) this.field = info.field;
    if (info.reason !== undefined) this.reason = info.reason;
    this.detail = info.detail ?? [];
  }

  /** True when the request was refused before the kernel was asked. */
  get beforeKernel(): boolean {
    return this.reason !== undefined;
  }

  /** True when the kernel refused a system call that mounts, unmounts or changes a mount (mount(8) exits 32 for these). */
  get fromMountSyscall(): boolean {
    return this.syscall !== undefined && MOUNT_SYSCALLS.has(this.syscall);
  }

  /** True when the process lacks the privilege to mount: EPERM from a mount system call, or a refusal of ours saying so. */
  get needsPrivilege(): boolean {
    return this.errno === -EPERM && (this.syscall === undefined || this.fromMountSyscall);
  }
}

const EINVAL = 22;

/** A request refused before the kernel: names the field and the reason. */
export function invalid(field: string, reason: string, errno = EINVAL, path?: string): OverlayError {
  return new OverlayError({ errno, field, reason, ...(path !== undefined ? { path } : {}) });
}
