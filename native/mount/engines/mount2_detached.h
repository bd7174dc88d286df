// Image and idmapped layers on kernels without `lowerdir+` (before 6.8), or
// with a mount(2) mechanism asked for: the overlay is made with mount(2) in a
// private mount namespace, where those detached trees are attached, and
// handed back detached.
#pragma once

#include "mount/open_layers.h"
#include "core/mount_request.h"
#include "util/sys_error.h"

namespace ovl {

Outcome<MountResult> MountImagesWithMount2(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

}  // namespace ovl
