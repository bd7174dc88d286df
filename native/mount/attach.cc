#include "mount/attach.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "images/image_dirs_in_use.h"
#include "inspect/mount_identity.h"
#include "inspect/mount_root.h"
#include "mount/propagation.h"
#include "util/sys.h"

namespace ovl {

Outcome<MountResult> AttachOverlay(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism, DetachedOverlay overlay) {
  int mnt = overlay.mount.get();
  if (sys::move_mount(mnt, "", layers.target.fd.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    return SysError::FromErrno("move_mount", request.target, "target");
  }
  if (request.propagation != Propagation::Keep) {
    // After attaching: attaching beneath a shared parent makes the new mount shared.
    if (auto e = SetPropagation(mnt, request.propagation, request.target)) {
      DetachOwnMount(request.target, mnt);
      return e;
    }
  }
  MountResult result = MountResultFor(mechanism, mnt, std::move(overlay.warnings));
  DescribeImages(layers, mnt, &result);
  return result;
}

void DescribeImages(const OpenedLayers& layers, int overlayFd, MountResult* result) {
  if (layers.images.empty()) return;
  for (const ImageMount& image : layers.images) result->images.push_back(image.info);
  if (layers.hasUpper && layers.upper.image >= 0) result->upperDirId = DirId(layers.upper.fd.get());
  if (layers.hasUpper && layers.work.image >= 0) result->workDirId = DirId(layers.work.fd.get());
  struct statx stx {};
  if (::statx(overlayFd, "", AT_EMPTY_PATH, 0, &stx) != 0) return;
  result->superblock = DeviceOf(stx);
}

}  // namespace ovl
