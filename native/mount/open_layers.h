// Opens every directory a mount names before anything is handed to the
// kernel, and checks the opened directories (not strings that could change).
#pragma once

#include <string>
#include <vector>

#include "core/mount_request.h"
#include "util/sys_error.h"
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
  bool idmapDeferred = false;  // in an image this kernel cannot clone detached (before 6.15): idmapped once attached (attached_layers.h)
};

// An image file's filesystem, mounted detached for the layers inside it.
struct ImageMount {
  ImageInfo info;
  std::string field;  // the first layer that named it, for errors
  UniqueFd mount;     // fsmount()'s fd: the image is mounted as long as this or an overlay holds it
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

Outcome<OpenedLayers> OpenLayers(const MountRequest& request);

// How overlay's two writable directories sit: the kernel needs them on one
// mount and in separate subtrees (ovl_get_workdir, fs/overlayfs/super.c).
enum class UpperWorkRelation { Separate, DifferentMounts, Same, WorkInsideUpper, UpperInsideWork, Unknown };

// Unknown when either cannot be statx'ed; errno then says why.
UpperWorkRelation RelateUpperAndWork(int upperFd, int workFd);

// The mount id statx reports for fd (0 when the kernel cannot say).
uint64_t MountIdOf(int fd);

}  // namespace ovl
