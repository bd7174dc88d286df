// Turns the facts check() gathered into findings, each saying what it means
// for a mount. What the kernel does is taken from its source: the function is
// named in a comment by each finding, the kernel's log line in `kernelSays`.
import type { CheckKernel, CheckOptions, CheckProbes, DirectoryInfo, Finding, FindingStatus, ProbeResult } from './check-types';
import type { NativeCheckReport } from '../core/native';

export interface Facts {
  options: CheckOptions;
  upper: DirectoryInfo;
  work: DirectoryInfo;
  lower: DirectoryInfo[];
  report: NativeCheckReport;
  probes: CheckProbes;
  kernel: CheckKernel;
  upperIsOverlay: boolean;
  /** This process holds CAP_SYS_ADMIN: a refusal it met (EPERM) says something about the filesystem, not about the caller. */
  privileged: boolean;
  /** Uppers and works of mounted overlays this process could not look at: "used by none" is then not known. */
  unreachableWriters: string[];
}

// Filesystems whose dentries revalidate (ovl_dentry_remote): network ones and FUSE.
const REMOTE_FSTYPES = /^(nfs4?|cifs|smb3|smbfs|9p|ceph|glusterfs|afs|ncpfs|fuse(\..*)?|fuseblk|virtiofs|gfs2|ocfs2)$/;

function finding(id: Finding['id'], status: FindingStatus, summary: string, meaning: string, kernelSays?: string): Finding {
  return kernelSays === undefined ? { id, status, summary, meaning } : { id, status, summary, meaning, kernelSays };
}

function where(d: DirectoryInfo): string {
  if (!d.fstype) return '';
  return ` (${d.fstype}${d.mountPoint ? `, mounted at ${d.mountPoint}` : ''})`;
}

function why(p: ProbeResult): string {
  return p.code ? ` (${p.code})` : '';
}

function directoryFindings(f: Facts): Finding[] {
  const out: Finding[] = [];
  // ovl_do_parse_layer / ovl_mount_dir_check (params.c): each layer is looked up and must be a directory.
  const refused = 'The mount fails: overlay looks up every layer first and stops at the first it cannot resolve or that is not a directory.';
  for (const [id, name, dir] of [['upper-directory', 'upper', f.upper], ['work-directory', 'work', f.work]] as const) {
    if (dir.error) out.push(finding(id, 'fail', `${name} '${dir.path}' cannot be opened as a directory: ${dir.error}`, refused));
    else out.push(finding(id, 'ok', `${name} '${dir.path}' is a directory${where(dir)}`, `Overlay can look ${name} up.`));
  }
  f.lower.forEach((dir, i) => {
    if (dir.error) out.push(finding('lower-directory', 'fail', `lower[${i}] '${dir.path}' cannot be opened as a directory: ${dir.error}`, refused));
  });
  if (f.lower.length > 0 && f.lower.every((d) => !d.error)) {
    out.push(finding('lower-directory', 'ok', `${f.lower.length} lower layer(s) open as directories`, 'Overlay can look every lower layer up.'));
  }
  return out;
}

function upperFindings(f: Facts): Finding[] {
  if (f.upper.error) return [];
  const out: Finding[] = [];
  out.push(finding('filesystem', 'info', `upper is on ${f.upper.fstype ?? 'an unknown filesystem'}${f.upper.source ? ` (${f.upper.source})` : ''}`,
    'The probes below tried on this filesystem what overlay tries when it mounts.'));
  // ovl_mount_dir_check (params.c): an overlay dentry (DCACHE_OP_REAL) cannot be an upper.
  if (f.upperIsOverlay) {
    out.push(finding('upper-overlay', 'fail', 'upper is on an overlay', 'The kernel refuses an overlay as upperdir and the mount fails with EINVAL; put upper and work on the filesystem beneath, or use the overlay as a lower layer.',
      `overlay: filesystem on ${f.upper.path} not supported as upperdir`));
  } else {
    out.push(finding('upper-overlay', 'ok', 'upper is not on an overlay', 'The kernel accepts this filesystem type as upperdir.'));
  }
  // ovl_mount_dir_check (params.c) and ovl_get_upper (super.c): a read-only upper is refused.
  if (f.upper.readOnly) {
    out.push(finding('upper-read-only', 'fail', 'upper is on a read-only mount or filesystem', 'The kernel refuses a read-only upper and the mount fails with EINVAL; mount without upper and work for a read-only view, or make the filesystem writable.',
      `overlay: filesystem on ${f.upper.path} is read-only`));
  } else {
    out.push(finding('upper-read-only', 'ok', 'upper is writable', 'The kernel accepts a writable upper.'));
  }
  return out;
}

// ovl_get_upper / ovl_get_workdir (super.c) mark upper and work in use
// (ovl_inuse_trylock) and ovl_check_layer walks their ancestors: one another
// overlay holds is only a warning, unless index=on (ovl_report_in_use).
function inUseFindings(f: Facts): Finding[] {
  const out: Finding[] = [];
  for (const [id, name, dir] of [['upper-in-use', 'upper', f.upper], ['work-in-use', 'work', f.work]] as const) {
    if (dir.error || dir.image) continue;
    const use = dir.inUse;
    if (!use && f.unreachableWriters.length > 0) {
      const some = f.unreachableWriters.join("', '");
      out.push(finding(id, 'info', `${name}: not fully probed for use by a mounted overlay ('${some}' could not be looked at)`,
        `Those directories of mounted overlays could not be compared with ${name}; run the check as root for the answer.`));
      continue;
    }
    if (!use) {
      out.push(finding(id, 'ok', `${name} is used by no mounted overlay`, `No other overlay writes in ${name}.`));
      continue;
    }
    const where = use.inside ? `lies inside '${use.path}', the ${use.as} of` : `is the ${use.as} ('${use.path}') of`;
    const unprobed = name === 'work' ? ' The probes were not run: they would write inside it.' : '';
    out.push(finding(id, 'fail', `EBUSY: ${name} '${dir.path}' ${where} the overlay mounted on '${use.target}' (mount id ${use.mountId})`,
      `mount and apply refuse it (EBUSY): two overlays writing to one directory each change what the other relies on. The kernel itself mounts it with only a warning, and refuses it (EBUSY) only with index=on. Unmount that overlay first, or give this one its own ${name}.${unprobed}`,
      `overlayfs: ${name}dir is in-use as upperdir/workdir of another mount, accessing files from both mounts will result in undefined behavior.`));
  }
  return out;
}

function relationFindings(f: Facts): Finding[] {
  const relation = f.report.relation;
  if (f.upper.error || f.work.error || relation === 'unknown') return [];
  // ovl_get_workdir (super.c): same vfsmount, and ovl_workdir_ok: neither inside the other.
  const out: Finding[] = [];
  if (relation === 'different-mounts') {
    out.push(finding('upper-work-mount', 'fail', 'upper and work are on different mounts', 'The mount fails with EINVAL: work must be on the same mount as upper, not only the same filesystem (a bind mount between them counts as another mount).',
      'overlay: workdir and upperdir must reside under the same mount'));
    return out;
  }
  out.push(finding('upper-work-mount', 'ok', 'upper and work share one mount', 'The kernel needs them on the same mount, and they are.'));
  if (relation === 'separate') {
    out.push(finding('upper-work-subtrees', 'ok', 'upper and work are separate subtrees', 'Neither is inside the other, as the kernel requires.'));
  } else {
    const said = relation === 'same' ? 'upper and work are the same directory' : relation === 'work-inside-upper' ? 'work is inside upper' : 'upper is inside work';
    out.push(finding('upper-work-subtrees', 'fail', said, 'The mount fails with EINVAL: upper and work must be different directories, neither inside the other.',
      'overlay: workdir and upperdir must be separate subtrees'));
  }
  return out;
}

function probeFindings(f: Facts): Finding[] {
  const { report, probes } = f;
  if (!report.probes.ran) return [];
  if (report.probes.scratchErrno !== 0) {
    // ovl_workdir_create (super.c): if work/work cannot be made, the mount goes read-only.
    return [finding('work-writable', 'fail', `could not create a directory in work${why(probes.dType)}`,
      'Overlay creates work/work when it mounts; where it cannot, the kernel mounts read-only with a warning. The probes below need the same, so they were not run; run the check as the user who will mount.',
      'overlayfs: failed to create directory <work>/work (errno: N); mounting read-only')];
  }
  const out: Finding[] = [finding('work-writable', 'ok', 'work is writable', 'Overlay can create work/work there.')];
  out.push(dTypeFinding(probes.dType));
  out.push(...xattrFindings(f));
  out.push(tmpfileFinding(probes.tmpfile));
  out.push(whiteoutFinding(probes.renameWhiteout));
  const remote = remoteFinding(f);
  if (remote) out.push(remote);
  return out;
}

function untested(id: Finding['id'], what: string, p: ProbeResult): Finding {
  return finding(id, 'warn', `${what} could not be tested${why(p)}`, 'The check could not tell what the kernel will find; see the other findings.');
}

// ovl_make_workdir (super.c) with ovl_check_d_type_supported (readdir.c): only warns;
// ovl_fill_merge/ovl_cache_entry_new (readdir.c) look for whiteouts among DT_CHR entries only.
function dTypeFinding(p: ProbeResult): Finding {
  if (p.state === 'untested') return untested('d-type', 'd_type', p);
  if (p.state === 'supported') return finding('d-type', 'ok', 'readdir reports file types (d_type)', 'Overlay can find whiteouts while listing a merged directory.');
  return finding('d-type', 'warn', 'readdir does not report file types (no d_type)',
    'The kernel mounts anyway with only a warning, but it recognises whiteouts in a listing by their type alone: files deleted through the mount keep showing in directory listings, and such directories cannot be removed (ENOTEMPTY). Use a filesystem made with d_type (ext4 with the filetype feature, xfs with ftype=1).',
    'overlayfs: upper fs needs to support d_type.');
}

// ovl_make_workdir (super.c): a failed setxattr of OVL_XATTR_OPAQUE sets noxattr and falls back.
function xattrFindings(f: Facts): Finding[] {
  const { trustedXattr, userXattr } = f.probes;
  const userMode = f.options.userxattr === true;
  const primary = userMode ? userXattr : trustedXattr;
  const secondary = userMode ? trustedXattr : userXattr;
  const primaryId = userMode ? 'xattr-user' : 'xattr-trusted';
  const secondaryId = userMode ? 'xattr-trusted' : 'xattr-user';
  const primaryName = userMode ? 'user.overlay.*' : 'trusted.overlay.*';
  const secondaryName = userMode ? 'trusted.overlay.*' : 'user.overlay.*';
  const out: Finding[] = [];
  if (primary.state === 'untested') out.push(untested(primaryId, `${primaryName} xattrs`, primary));
  else if (callerRefused(f, primary, primaryName)) out.push(trustedNotProbed(primaryId));
  else if (primary.state === 'supported') {
    out.push(finding(primaryId, 'ok', `${primaryName} xattrs can be set and read back`, 'Overlay can record opaque directories, redirects, copy-up origins and its uuid in upper.'));
  } else {
    const hint = !userMode && primary.code === 'EPERM' ? ' Without CAP_SYS_ADMIN trusted.* xattrs cannot be set: an unprivileged mount uses `userxattr`.' : '';
    out.push(finding(primaryId, 'warn', `${primaryName} xattrs cannot be set${why(primary)}`,
      'The kernel mounts anyway but turns off what needs its xattrs in upper: redirect_dir falls back to nofollow, metacopy, index and xino=auto to off, uuid to null; and with no way to mark a directory opaque, making a directory where a lower one was deleted, or removing a lower directory whose files were deleted through the mount, fails with EIO.' + hint,
      'overlayfs: failed to set xattr on upper / ...falling back to redirect_dir=nofollow. / ...falling back to uuid=null.'));
  }
  const other = userMode ? 'a mount without `userxattr`' : 'a `userxattr` mount (unprivileged, in a user namespace)';
  if (callerRefused(f, secondary, secondaryName)) out.push(trustedNotProbed(secondaryId));
  else if (secondary.state === 'supported') out.push(finding(secondaryId, 'ok', `${secondaryName} xattrs work too`, `${other[0]!.toUpperCase()}${other.slice(1)} would keep its features here.`));
  else out.push(finding(secondaryId, 'info', `${secondaryName} xattrs cannot be set${why(secondary)}`, `Only matters for ${other}, which would fall back as described above.`));
  return out;
}

// Setting trusted.* xattrs needs CAP_SYS_ADMIN: a caller without it learns nothing of the filesystem from its EPERM.
function callerRefused(f: Facts, p: ProbeResult, name: string): boolean {
  return !f.privileged && name.startsWith('trusted.') && p.state === 'unsupported' && p.code === 'EPERM';
}

function trustedNotProbed(id: Finding['id']): Finding {
  return finding(id, 'info', 'trusted.overlay.* xattrs: not probed (setting them needs CAP_SYS_ADMIN, which this process lacks)',
    'Whether this filesystem keeps them is unknown; run the check as root for the answer. A mount without `userxattr` needs them; an unprivileged mount uses `userxattr` (user.overlay.*) instead.');
}

// ovl_make_workdir (super.c) probes O_TMPFILE; ovl_do_copy_up (copy_up.c) uses it only when it worked.
function tmpfileFinding(p: ProbeResult): Finding {
  if (p.state === 'untested') return untested('tmpfile', 'O_TMPFILE', p);
  if (p.state === 'supported') return finding('tmpfile', 'ok', 'O_TMPFILE works', 'Copy-up builds a file in an unnamed temporary file and links it into place.');
  return finding('tmpfile', 'warn', `O_TMPFILE is not supported${why(p)}`,
    'The kernel mounts anyway with a warning; copy-up of a regular file then builds it under a temporary name in work and renames it into place.',
    'overlayfs: upper fs does not support tmpfile.');
}

// ovl_check_rename_whiteout (super.c): EINVAL means unsupported (a warning); any other error stops the mount.
function whiteoutFinding(p: ProbeResult): Finding {
  if (p.state === 'untested') return untested('rename-whiteout', 'RENAME_WHITEOUT', p);
  if (p.state === 'supported') return finding('rename-whiteout', 'ok', 'renameat2(RENAME_WHITEOUT) works', 'The kernel finds what it probes for.');
  if (p.code && p.code !== 'EINVAL') {
    return finding('rename-whiteout', 'fail', `renameat2(RENAME_WHITEOUT) failed${why(p)}`, 'The kernel runs the same probe when it mounts and stops the mount on any error from it but EINVAL.');
  }
  return finding('rename-whiteout', 'warn', `renameat2(RENAME_WHITEOUT) is not supported${why(p)}`,
    'The kernel mounts anyway with only a warning and makes its whiteouts with mknod; it refuses such an upper only on a network filesystem.',
    'overlayfs: upper fs does not support RENAME_WHITEOUT.');
}

// ovl_make_workdir (super.c): a remote upper lacking d_type, RENAME_WHITEOUT or xattrs is refused.
function remoteFinding(f: Facts): Finding | undefined {
  if (!f.upper.fstype || !REMOTE_FSTYPES.test(f.upper.fstype)) return undefined;
  const xattr = f.options.userxattr ? f.probes.userXattr : f.probes.trustedXattr;
  const missing = [f.probes.dType.state === 'unsupported' && 'd_type', f.probes.renameWhiteout.state === 'unsupported' && 'RENAME_WHITEOUT', xattr.state === 'unsupported' && 'xattrs']
    .filter((m): m is string => typeof m === 'string');
  if (missing.length === 0) return undefined;
  return finding('remote-upper', 'fail', `upper is on ${f.upper.fstype}, a network or FUSE filesystem, without ${missing.join(', ')}`,
    'The kernel only warns about these on local filesystems but refuses a remote upper that lacks any of them: the mount fails with EINVAL.',
    'overlayfs: upper fs missing required features.');
}

// ovl_workdir_create -> ovl_workdir_cleanup_recurse (readdir.c): anything in work/work/incompat refuses the mount.
function volatileFinding(f: Facts): Finding[] {
  if (f.work.error) return [];
  const { incompat } = f.report;
  if (incompat.entries.length > 0) {
    const names = incompat.entries.join(', ');
    return [finding('volatile-leftover', 'fail', `work holds work/incompat/${names}, left by a \`volatile\` mount`,
      'The mount fails with EINVAL: a volatile mount never synced upper, so after it the kernel will not trust upper and work again. Throw both away and start afresh (or, knowing the risk, remove work/work).',
      `overlayfs: overlay with incompat feature '${incompat.entries[0]}' cannot be mounted`)];
  }
  if (incompat.errno !== 0) return [finding('volatile-leftover', 'warn', 'work/work/incompat exists but could not be read', 'The check cannot tell whether a `volatile` mount left something the kernel would refuse; run it as root.')];
  return [finding('volatile-leftover', 'ok', 'no leftover of a `volatile` mount in work', 'Nothing in work/work/incompat for the kernel to refuse.')];
}

function cleanupFinding(f: Facts): Finding[] {
  const left = f.report.probes.leftovers;
  if (left.length === 0) return [];
  return [finding('probe-cleanup', 'warn', `the check could not remove ${left.join(', ')}`, 'Remove it by hand; it is not part of any mount.')];
}

function kernelFindings(k: CheckKernel): Finding[] {
  const info = (id: Finding['id'], has: boolean, yes: string, no: string, meaningYes: string, meaningNo: string) =>
    finding(id, has ? 'ok' : 'info', has ? yes : no, has ? meaningYes : meaningNo);
  // Without privilege fsopen was refused: say that, not that the kernel is old.
  const unasked = (id: Finding['id'], what: string) =>
    finding(id, 'info', `${what}: not probed (probing needs root, or CAP_SYS_ADMIN)`, `${k.notProbedReason ?? 'the probe could not run'}; run the check as root for the answer.`);
  if (!k.probed) {
    return [
      unasked('kernel-new-mount-api', 'the new mount API (fsopen)'),
      unasked('kernel-lowerdir-plus', '`lowerdir+`'),
      unasked('kernel-layer-fd', 'layers by fd'),
      unasked('kernel-move-mount-beneath', 'MOVE_MOUNT_BENEATH'),
      xattrWhiteoutsFinding(k, info),
    ];
  }
  return [
    info('kernel-new-mount-api', k.newMountApi, 'overlay takes the new mount API (fsopen)', `overlay cannot be opened with fsopen${k.fsopenErrno ? ` (errno ${k.fsopenErrno})` : ''}`,
      "Mount errors carry the kernel's own words.", 'Mounts go through mount(2), whose reasons reach dmesg only (EPERM here means no CAP_SYS_ADMIN).'),
    info('kernel-lowerdir-plus', k.lowerdirPlus, 'overlay takes `lowerdir+` (6.8+)', 'overlay has no `lowerdir+` (before 6.8)',
      'Layers are passed one by one: no one-page limit on the stack.', 'All layers share one mount(2) data page; a stack that does not fit even as fd numbers is refused, never cut.'),
    info('kernel-layer-fd', k.layerFd, 'layers can be handed over by fd (6.13+)', 'layers are handed over by path (before 6.13)',
      'What was checked is what gets mounted.', 'Paths are resolved again by the kernel; the library still checks them first.'),
    info('kernel-move-mount-beneath', k.moveMountBeneath, 'MOVE_MOUNT_BENEATH works (6.5+)', 'no MOVE_MOUNT_BENEATH (before 6.5)',
      'A mount can be replaced atomically beneath the old one.', 'A mount cannot be replaced atomically; unmount then mount.'),
    xattrWhiteoutsFinding(k, info),
  ];
}

type InfoFinding = (id: Finding['id'], has: boolean, yes: string, no: string, meaningYes: string, meaningNo: string) => Finding;

// Without privilege the answer comes from the release number, and says so.
function xattrWhiteoutsFinding(k: CheckKernel, info: InfoFinding): Finding {
  const from = k.xattrWhiteoutsFrom === 'probe' ? 'probed' : 'from the kernel version';
  return info('kernel-xattr-whiteouts', k.xattrWhiteouts, `lower layers may hold xattr whiteouts (${from})`,
    `xattr whiteouts are not honoured (${from})`,
    'A lower layer may mark deletions with trusted.overlay.whiteout in a directory marked opaque "x" (6.7+).',
    'A lower layer built with xattr whiteouts shows its deleted files as empty files; convert them to 0/0 character devices.');
}

export function findingsFor(f: Facts): Finding[] {
  return [
    ...directoryFindings(f),
    ...upperFindings(f),
    ...inUseFindings(f),
    ...relationFindings(f),
    ...probeFindings(f),
    ...volatileFinding(f),
    ...cleanupFinding(f),
    ...kernelFindings(f.kernel),
  ];
}
