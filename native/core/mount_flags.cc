#include "core/mount_flags.h"

#include <sys/mount.h>

#include "util/sys.h"

namespace ovl {
namespace {

struct FlagBit {
  Change MountFlagChanges::*change;
  uint64_t attr;
  unsigned long ms;
};
constexpr FlagBit kFlagBits[] = {
    {&MountFlagChanges::readOnly, MOUNT_ATTR_RDONLY, MS_RDONLY},
    {&MountFlagChanges::nosuid, MOUNT_ATTR_NOSUID, MS_NOSUID},
    {&MountFlagChanges::nodev, MOUNT_ATTR_NODEV, MS_NODEV},
    {&MountFlagChanges::noexec, MOUNT_ATTR_NOEXEC, MS_NOEXEC},
};

struct AtimeBit {
  Atime atime;
  uint64_t attr;  // MOUNT_ATTR_RELATIME is 0: relatime is what clearing the others leaves
  unsigned long ms;
};
constexpr AtimeBit kAtimeBits[] = {
    {Atime::Noatime, MOUNT_ATTR_NOATIME, MS_NOATIME},
    {Atime::Relatime, MOUNT_ATTR_RELATIME, MS_RELATIME},
    {Atime::Strictatime, MOUNT_ATTR_STRICTATIME, MS_STRICTATIME},
};

}  // namespace

KernelFlagBits ToKernelBits(const MountFlagChanges& changes) {
  KernelFlagBits bits;
  for (const FlagBit& flag : kFlagBits) {
    Change change = changes.*flag.change;
    if (change == Change::Set) {
      bits.attrSet |= flag.attr;
      bits.msSet |= flag.ms;
    } else if (change == Change::Clear) {
      bits.attrClear |= flag.attr;
      bits.msClear |= flag.ms;
    }
  }
  for (const AtimeBit& atime : kAtimeBits) {
    if (changes.atime == Atime::Keep) break;
    // The atime modes exclude each other: clear them all, set the one asked for.
    bits.attrClear |= MOUNT_ATTR__ATIME;
    bits.msClear |= atime.ms;
    if (changes.atime == atime.atime) {
      bits.attrSet |= atime.attr;
      bits.msSet |= atime.ms;
    }
  }
  return bits;
}

}  // namespace ovl
