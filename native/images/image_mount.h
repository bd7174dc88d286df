// An image file's filesystem, mounted detached for the layers inside it:
// images/image_layers.h mounts it, a mount's opened layers hold it.
#pragma once

#include <string>

#include "core/mount_request.h"
#include "util/unique_fd.h"

namespace ovl {

struct ImageMount {
  ImageInfo info;
  std::string field;  // the first layer that named it, for errors
  UniqueFd mount;     // fsmount()'s fd: the image is mounted as long as this or an overlay holds it
};

}  // namespace ovl
