// The new mount API engine: fsopen, one fsconfig per layer and option, then
// fsmount; the overlay comes back detached (mount/attach.h puts it in place)
// and the kernel's own words come back from its log.
#pragma once

#include "core/mount_request.h"
#include "mount/engines/detached_overlay.h"
#include "mount/opened_layers.h"
#include "util/sys_error.h"

namespace ovl {

Outcome<DetachedOverlay> CreateDetachedOverlay(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

}  // namespace ovl
