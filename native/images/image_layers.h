// Image files as layers: each image a request names is mounted once,
// detached (fsopen of its type, fsmount), never at a path, through an
// auto-clearing loop device or, for erofs where the kernel can, from the file
// itself. Layers are then directories opened inside those detached mounts;
// when the overlay that took them goes, the images and loop devices go too.
#pragma once

#include <string>
#include <vector>

#include "mount/open_layers.h"
#include "core/mount_request.h"
#include "util/sys_error.h"

namespace ovl {

// Which mounted image each layer slot uses (-1: a plain directory).
struct ImageSlots {
  std::vector<int> lower, data;
  int upper = -1, work = -1;
};

// Mounts every distinct image file of the request (by device and inode) once:
// read-only unless it backs upper or work.
SysError MountImages(const MountRequest& request, std::vector<ImageMount>* images, ImageSlots* slots);

// The layer `spec` names, opened beneath its image's root (never leaving it);
// a missing upper or work directory in a writable image is made first.
// `create` false (check) makes nothing.
Outcome<Layer> OpenImageLayer(const ImageMount& image, const ImageSpec& spec, const char* role, int index, int imageIndex, bool create = true);

// Fills in what the mount made of images, and the overlay's superblock
// device (part of the caller's record), when there were any.
void DescribeImages(const OpenedLayers& layers, int overlayFd, MountResult* result);

// The filesystem type a superblock says, or "" when it is none we mount.
std::string DetectImageType(int fd);

}  // namespace ovl
