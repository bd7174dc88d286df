// The objects a sealed image needs from its store: each regular file's
// trusted.overlay.redirect (`/xx/<62 hex>`), read from the image mounted
// detached and read-only (never at a path), as the kernel reads them.
#pragma once

#include <string>
#include <vector>

#include "util/sys_error.h"

namespace ovl {

struct MissingObject {
  std::string object;  // "xx/<62 hex>", the redirect without its leading '/'
  std::string file;    // the file's path in the image, from its root ("/usr/bin/tool")
};

// The image's files whose object is not in `store`.
Outcome<std::vector<MissingObject>> MissingObjects(const std::string& image, const std::string& store, const std::string& field);

}  // namespace ovl
