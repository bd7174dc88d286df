// Two stacks on one upper image mean what two stacks on one upper directory
// mean: an image whose device is reused (images/image_device.h) shares its
// superblock, so an upper or work inside it can be one a live overlay
// already uses, which the kernel mounts again with only a log line
// ("upperdir is in-use ... undefined behavior"; EBUSY with index=on). Only
// now, with the directory opened inside the image, is its identity known;
// lib/ said which identities live overlays hold.
#pragma once

#include <string>

#include "core/mount_request.h"
#include "util/sys_error.h"

namespace ovl {

// "major:minor:inode" of an opened directory ("" when statx fails).
std::string DirId(int fd);

// EBUSY naming the field and the overlay that uses it, when the upper or
// work taken from an image (`upperInImage`, `workInImage`) is in
// request.dirsInUse.
SysError RefuseImageDirsInUse(const MountRequest& request, int upperFd, bool upperInImage, int workFd, bool workInImage);

}  // namespace ovl
