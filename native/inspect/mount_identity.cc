#include "inspect/mount_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef SYS_statmount
#define SYS_statmount 457
#endif

namespace ovl {
namespace {

// linux/mount.h's struct mnt_id_req, first version (6.8).
struct MntIdReq {
  uint32_t size;
  uint32_t spare;
  uint64_t mnt_id;
  uint64_t param;
};
// The head of linux/mount.h's struct statmount, up to the short ids.
struct StatmountHead {
  uint32_t size, mntOpts;
  uint64_t mask;
  uint32_t sbDevMajor, sbDevMinor;
  uint64_t sbMagic;
  uint32_t sbFlags, fsType;
  uint64_t mntId, mntParentId;
  uint32_t mntIdOld, mntParentIdOld;
  uint64_t rest[64];  // the remaining fields and room for strings not asked for
};
constexpr uint64_t kStatmountMntBasic = 0x2;

bool StatxMount(int dirfd, const char* path, int flags, unsigned mask, struct statx* out) {
  std::memset(out, 0, sizeof *out);
  return ::statx(dirfd, path, flags, mask, out) == 0 && (out->stx_mask & mask) != 0;
}

}  // namespace

static_assert(sizeof(MntIdReq) == 24, "mnt_id_req, version 0");

uint64_t MountIdOf(int fd) {
  struct statx stx;
  return StatxMount(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) ? stx.stx_mnt_id : 0;
}

uint64_t UniqueMountIdOf(int fd) {
  struct statx stx;
  return StatxMount(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &stx) ? stx.stx_mnt_id : 0;
}

bool IsMountRoot(const struct statx& stx) {
  return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

std::string DeviceOf(const struct statx& stx) { return std::to_string(stx.stx_dev_major) + ":" + std::to_string(stx.stx_dev_minor); }

MountIdentity MountAt(const std::string& path, bool followSymlinks, bool uniqueOnly) {
  MountIdentity out;
  int flags = followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW;
  struct statx stx;
  if (StatxMount(AT_FDCWD, path.c_str(), flags, STATX_MNT_ID_UNIQUE, &stx)) {
    out.unique = stx.stx_mnt_id;
    out.isRoot = IsMountRoot(stx);
    out.device = DeviceOf(stx);
    if (uniqueOnly) return out;
  }
  if (!StatxMount(AT_FDCWD, path.c_str(), flags, STATX_MNT_ID, &stx)) {
    out.errnum = errno != 0 ? errno : ENOSYS;
    return out;
  }
  out.id = stx.stx_mnt_id;
  out.isRoot = IsMountRoot(stx);
  out.device = DeviceOf(stx);
  return out;
}

uint32_t MountIdOfUnique(uint64_t unique, int* errnum) {
  *errnum = 0;
  MntIdReq req{sizeof(MntIdReq), 0, unique, kStatmountMntBasic};
  StatmountHead out{};
  if (::syscall(SYS_statmount, &req, &out, sizeof out, 0) == 0) return out.mntIdOld;
  if (errno != ENOENT) *errnum = errno;
  return 0;
}

}  // namespace ovl
