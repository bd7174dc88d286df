// The new mount API engine: fsopen, one fsconfig per layer and option,
// fsmount, then move_mount; the kernel's own words come back from its log.
#pragma once

#include <string>
#include <vector>

#include "mount/open_layers.h"
#include "core/mount_request.h"
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

// Attaches a detached overlay on the request's target and sets its propagation.
Outcome<MountResult> AttachOverlay(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism, DetachedOverlay overlay);

// Drains a filesystem context's log into the kernel's errors and warnings.
void ReadFsLog(int fsfd, std::vector<std::string>* errors, std::vector<std::string>* warnings);

}  // namespace ovl
