// Which mount a file descriptor is on, in the two forms the kernel has: the
// short id mountinfo shows (reused once a mount is gone) and, on 6.8+, the
// 64-bit id that is never reused while the system runs (STATX_MNT_ID_UNIQUE).
#pragma once

#include <cstdint>

namespace ovl {

struct MountIdentity {
  uint64_t mountId = 0;   // 0 when the kernel cannot say
  uint64_t uniqueId = 0;  // 0 before 6.8
  bool operator==(const MountIdentity& o) const { return mountId == o.mountId && uniqueId == o.uniqueId; }
};

MountIdentity IdentifyMount(int fd);

}  // namespace ovl
