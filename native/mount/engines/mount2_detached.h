// Image and idmapped layers on kernels without `lowerdir+` (before 6.8), or
// with a mount(2) mechanism asked for: the overlay is made with mount(2) in a
// private mount namespace, where those detached trees are attached, and
// handed back detached, for mount/attach.h to put in place.
#pragma once

#include "core/mount_request.h"
#include "mount/engines/detached_overlay.h"
#include "mount/opened_layers.h"
#include "util/sys_error.h"

namespace ovl {

Outcome<DetachedOverlay> CreateWithMount2(const MountRequest& request, const OpenedLayers& layers);

}  // namespace ovl
