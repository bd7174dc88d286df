// Which mount a path or fd belongs to. The short mount id (mountinfo's first
// field) is handed out lowest-free, so a mount made after ours was removed
// often gets ours; from 6.8 statx also reports a 64-bit id the kernel never
// reuses, which is what lets an object tell its own mount from a later one.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

namespace ovl {

struct MountIdentity {
  uint64_t id = 0;      // short id, 0 when the kernel cannot say
  uint64_t unique = 0;  // never reused; 0 before 6.8
  bool isRoot = false;  // the path is that mount's root (something is mounted there)
  std::string device;   // its superblock's device as mountinfo shows it ('0:45'), '' when not looked at
  int errnum = 0;       // why the path could not be looked at, or 0
};

// The short id of fd's mount (mountinfo's first field), 0 when the kernel cannot say.
uint64_t MountIdOf(int fd);

// The unique id of fd's mount, 0 when the kernel has none.
uint64_t UniqueMountIdOf(int fd);

// A filesystem's device as mountinfo's third field shows it ('0:45'): what an
// image stack's record is named by before 6.8.
std::string DeviceOf(const struct statx& stx);

// The topmost mount at `path`, as umount2 would find it: both ids, or with
// `uniqueOnly` just the unique one (one statx instead of two, for a check).
MountIdentity MountAt(const std::string& path, bool followSymlinks, bool uniqueOnly = false);

// The short id of the mount with this unique id in the caller's mount
// namespace (statmount, 6.8+): 0 when none is (gone, or in another
// namespace); `errnum` is set when the kernel could not say.
uint32_t MountIdOfUnique(uint64_t unique, int* errnum);

}  // namespace ovl
