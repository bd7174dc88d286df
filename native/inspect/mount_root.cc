#include "inspect/mount_root.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "inspect/mount_identity.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

namespace ovl {
namespace {

constexpr long kOverlayMagic = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC

}  // namespace

Outcome<UniqueFd> OpenOverlayMountRoot(const std::string& path, const std::string& field) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return SysError::FromErrno("open", path, field);
  struct statx stx {};
  if (::statx(fd.get(), "", AT_EMPTY_PATH, 0, &stx) != 0) return SysError::FromErrno("statx", path, field);
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) || !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
    return SysError::Invalid(field, path, "nothing is mounted on '" + path + "'");
  }
  struct statfs fs {};
  if (::fstatfs(fd.get(), &fs) != 0) return SysError::FromErrno("fstatfs", path, field);
  if (fs.f_type != kOverlayMagic) return SysError::Invalid(field, path, "the mount on '" + path + "' is not an overlay");
  return fd;
}

void DetachOwnMount(const std::string& path, int mountFd) {
  UniqueFd top(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  uint64_t ours = MountIdOf(mountFd);
  if (top.valid() && ours != 0 && MountIdOf(top.get()) == ours) ::umount2(path.c_str(), MNT_DETACH);
}

}  // namespace ovl
