// Image files as layers: each image a request names is mounted once,
// detached (fsopen of its type, fsmount), never at a path, through an
// auto-clearing loop device or, for erofs where the kernel can, from the file
// itself. Layers are then directories opened inside those detached mounts;
// when the overlay that took them goes, the images and loop devices go too.
#pragma once

#include <string>
#include <vector>

#include "core/mount_request.h"
#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

// An image file's filesystem, mounted detached for the layers inside it; a
// mount's opened layers (mount/opened_layers.h) hold it.
struct ImageMount {
  ImageInfo info;
  std::string field;  // the first layer that named it, for errors
  UniqueFd mount;     // fsmount()'s fd: the image is mounted as long as this or an overlay holds it
};

// Which mounted image each layer slot uses (-1: a plain directory).
struct ImageSlots {
  std::vector<int> lower, data;
  int upper = -1, work = -1;
};

// Mounts every distinct image file of the request (by device and inode) once:
// read-only unless it backs upper or work.
SysError MountImages(const MountRequest& request, std::vector<ImageMount>* images, ImageSlots* slots);

// The directory `spec` names, opened (O_PATH) beneath its image's root,
// never leaving it; a missing upper or work directory in a writable image is
// made first. `create` false (check) makes nothing. `role` and `index` name
// the request's field in an error.
Outcome<UniqueFd> OpenImageLayer(const ImageMount& image, const ImageSpec& spec, const char* role, int index, bool create = true);

// The filesystem type a superblock says, or "" when it is none we mount.
std::string DetectImageType(int fd);

}  // namespace ovl
