#include "images/image_dirs_in_use.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace ovl {

std::string DirId(int fd) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_INO, &stx) != 0) return "";
  return std::to_string(stx.stx_dev_major) + ":" + std::to_string(stx.stx_dev_minor) + ":" + std::to_string(stx.stx_ino);
}

SysError RefuseImageDirsInUse(const MountRequest& request, int upperFd, bool upperInImage, int workFd, bool workInImage) {
  if (request.dirsInUse.empty()) return {};
  struct Slot {
    const char* role;
    int fd;
    bool inImage;
    const ImageSpec& spec;
  };
  for (const Slot& slot : {Slot{"upper", upperFd, upperInImage, request.upperImage}, Slot{"work", workFd, workInImage, request.workImage}}) {
    if (!slot.inImage) continue;
    std::string id = DirId(slot.fd);
    for (const DirInUse& used : request.dirsInUse) {
      if (used.id != id) continue;
      std::string where = slot.spec.image + ":" + (slot.spec.subdir.empty() ? "/" : slot.spec.subdir);
      return SysError::Invalid(slot.role, slot.spec.image,
                               "'" + where + "' is " + used.holder + " (the image's device is shared, so is its superblock); give this stack its own " +
                                   slot.role + " directory",
                               EBUSY);
    }
  }
  return {};
}

}  // namespace ovl
