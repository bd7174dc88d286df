// Overlay refuses a lower (or data) layer that is the same directory as
// another layer ("conflicting lowerdir path") or lies inside one, or holds
// another lower inside it ("overlapping lowerdir path"), with ELOOP and the
// target's name only. Checked here first so the refusal names the layers.
#pragma once

#include "mount/opened_layers.h"
#include "util/sys_error.h"

namespace ovl {

SysError CheckLayerOverlap(const OpenedLayers& layers);

}  // namespace ovl
