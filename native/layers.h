// Opens every directory a mount names before anything is handed to the
// kernel, and checks the opened directories (not strings that could change).
#pragma once

#include <string>
#include <vector>

#include "mount_request.h"
#include "sys_error.h"
#include "unique_fd.h"

namespace ovl {

struct Layer {
  std::string path;
  std::string field;  // "lower[3]", "upper", ...
  UniqueFd fd;        // O_PATH|O_DIRECTORY, or a detached (idmapped) tree
  bool detached = false;  // no path reaches it: hand it over by fd only
};

struct OpenedLayers {
  std::vector<Layer> lower, data;
  Layer upper, work, target;
  bool hasUpper = false;
};

Outcome<OpenedLayers> OpenLayers(const MountRequest& request);

// The mount id statx reports for fd (0 when the kernel cannot say).
uint64_t MountIdOf(int fd);

}  // namespace ovl
