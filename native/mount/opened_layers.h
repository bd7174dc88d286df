// The directories of one mount, each opened once (open_layers.h) and from
// then on named by fd: what every later stage of the mount reads.
#pragma once

#include <string>
#include <vector>

#include "core/mount_request.h"
#include "images/image_layers.h"
#include "util/unique_fd.h"

namespace ovl {

struct Layer {
  std::string path;
  const char* role = "";  // "lower", "data", "upper", "work" or "target"
  int index = -1;         // position within `lower` or `data`, -1 for the others
  UniqueFd fd;            // O_PATH|O_DIRECTORY

  // The request field, "lower[3]" or "upper". Built only when an error names
  // it: formatting one per layer on every mount cost more than the checks.
  std::string field() const { return index < 0 ? role : std::string(role) + "[" + std::to_string(index) + "]"; }
  bool detached = false;  // a detached (idmapped) tree no path reaches: hand it over by fd only
  int image = -1;         // index into OpenedLayers::images when the layer lives in an image file
  bool idmapDeferred = false;  // in an image this kernel cannot clone detached (before 6.15): idmapped once attached (mount/engines/attached_layers.h)
};

// The user namespace for layers whose idmap waits for the private mount
// namespace (Layer::idmapDeferred), and the request it came from, for errors.
struct DeferredIdmap {
  IdmapRequest request;
  UniqueFd userns;
  bool wanted() const { return userns.valid(); }
};

struct OpenedLayers {
  std::vector<Layer> lower, data;
  Layer upper, work, target;
  bool hasUpper = false;
  std::vector<ImageMount> images;  // the layer fds inside each keep its mount alive on their own
  DeferredIdmap deferredIdmap;
};

}  // namespace ovl
