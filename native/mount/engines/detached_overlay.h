// What an engine hands the mount's later stages (mount/attach.h): an overlay
// made and not yet attached anywhere, freed with its fd until it is.
#pragma once

#include <string>
#include <vector>

#include "util/unique_fd.h"

namespace ovl {

struct DetachedOverlay {
  UniqueFd mount;
  std::vector<std::string> warnings;  // the kernel's non-fatal messages
};

}  // namespace ovl
