// Loop devices for image layers: a free device taken with LOOP_CTL_GET_FREE
// and bound to the image with LOOP_CONFIGURE in one step, auto-clearing, so
// the device unbinds itself when the last user (the mounted filesystem, or
// this fd) lets go. Nothing to detach by hand, on any path.
#pragma once

#include <string>

#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

struct LoopDevice {
  UniqueFd fd;  // keep open until the filesystem has opened the device: closing it first clears it
  int number = -1;
  std::string path() const { return "/dev/loop" + std::to_string(number); }
};

// Binds `imageFd` to a free loop device; read-only unless `writable`.
// `field` and `image` name the layer in an error.
Outcome<LoopDevice> AttachLoop(int imageFd, bool writable, const std::string& image, const std::string& field);

}  // namespace ovl
