// The new mount API engine: fsopen, one fsconfig per layer and option,
// fsmount, then move_mount; the kernel's own words come back from its log.
#pragma once

#include <string>
#include <vector>

#include "layers.h"
#include "mount_request.h"
#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

// An overlay made with fsopen..fsmount and not yet attached anywhere.
struct DetachedOverlay {
  UniqueFd mount;
  std::vector<std::string> warnings;  // the kernel's non-fatal messages
};
Outcome<DetachedOverlay> CreateDetachedOverlay(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

// Creates the overlay detached and attaches it on the opened target.
Outcome<MountResult> MountWithFsconfig(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

}  // namespace ovl
