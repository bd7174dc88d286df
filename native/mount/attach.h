// The last stages of a mount, whichever engine made the overlay detached:
// attached on the opened target, its propagation set, and what it made of
// images described for the caller's record.
#pragma once

#include "core/mount_request.h"
#include "mount/engines/detached_overlay.h"
#include "mount/opened_layers.h"
#include "util/sys_error.h"

namespace ovl {

// Moves `overlay` onto the target and sets the request's propagation; a
// failure after the move detaches it again.
Outcome<MountResult> AttachOverlay(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism, DetachedOverlay overlay);

// Fills in what the mount made of images, and the overlay's superblock
// device (part of the caller's record), when there were any.
void DescribeImages(const OpenedLayers& layers, int overlayFd, MountResult* result);

}  // namespace ovl
