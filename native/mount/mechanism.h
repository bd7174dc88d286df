// Which engine a mount goes to, and the layers opened for it.
#pragma once

#include "mount/open_layers.h"
#include "core/mount_request.h"
#include "util/sys_error.h"

namespace ovl {

bool IsFsconfig(Mechanism m);

// The mechanism a request gets: forced, or the best this kernel offers.
Outcome<Mechanism> ChooseMechanism(const MountRequest& request, const OpenedLayers& layers);

// Opens the layers and, when asked, swaps the lower ones for idmapped clones.
Outcome<OpenedLayers> PrepareLayers(const MountRequest& request, Mechanism* mechanism);

}  // namespace ovl
