#include "image_dirs_in_use.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace ovl {

std::string DirId(int fd) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_INO, &stx) != 0) return "";
  return std::to_string(stx.stx_dev_major) + ":" + std::to_string(stx.stx_dev_minor) + ":" + std::to_string(stx.stx_ino);
}

SysError RefuseImageDirsInUse(const MountRequest& request, const Layer& upper, const Layer& work) {
  if (request.dirsInUse.empty()) return {};
  for (const Layer* layer : {&upper, &work}) {
    if (layer->image < 0) continue;
    const ImageSpec& spec = layer == &upper ? request.upperImage : request.workImage;
    std::string id = DirId(layer->fd.get());
    for (const DirInUse& used : request.dirsInUse) {
      if (used.id != id) continue;
      std::string where = spec.image + ":" + (spec.subdir.empty() ? "/" : spec.subdir);
      return SysError::Invalid(layer->role, spec.image,
                               "'" + where + "' is " + used.holder + " (the image's device is shared, so is its superblock); give this stack its own " +
                                   layer->role + " directory",
                               EBUSY);
    }
  }
  return {};
}

}  // namespace ovl
