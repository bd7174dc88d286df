// Per-mount flags (read-only, nosuid, nodev, noexec, atime) as a change to a
// mount, and the one mapping of them to the kernel's bits: MOUNT_ATTR_* for
// fsmount and mount_setattr, MS_* for mount(2). A new mount is the change
// from no flags; a remount keeps what it does not name.
#pragma once

#include <cstdint>

namespace ovl {

enum class Change { Keep, Set, Clear };

enum class Atime { Keep, Noatime, Relatime, Strictatime };

struct MountFlagChanges {
  Change readOnly = Change::Keep, nosuid = Change::Keep, nodev = Change::Keep, noexec = Change::Keep;
  Atime atime = Atime::Keep;

  bool any() const {
    return readOnly != Change::Keep || nosuid != Change::Keep || nodev != Change::Keep || noexec != Change::Keep || atime != Atime::Keep;
  }
};

struct KernelFlagBits {
  uint64_t attrSet = 0, attrClear = 0;  // MOUNT_ATTR_*, as struct mount_attr and fsmount take them
  unsigned long msSet = 0, msClear = 0;  // MS_*, as mount(2) takes them
};

KernelFlagBits ToKernelBits(const MountFlagChanges& changes);

}  // namespace ovl
