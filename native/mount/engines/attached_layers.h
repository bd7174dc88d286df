// Idmapped layers for kernels whose overlay refuses detached trees as layers:
// on older kernels clone_private_mount() takes only a mount of the caller's
// own mount namespace ("overlayfs: failed to clone lowerpath", EINVAL at
// create; seen on Debian's 6.12, not on 6.18). There the overlay is made in
// a thread with a private mount namespace in which each idmapped tree is
// attached over its layer's own path; the namespace, and those mounts, end
// with the thread.
#pragma once

#include <functional>

#include "mount/opened_layers.h"
#include "util/sys_error.h"

namespace ovl {

// Whether any lower or data layer is a detached (idmapped) tree.
bool HasDetachedLayers(const OpenedLayers& layers);

// Runs `create` on a copy of `layers` whose detached trees are attached, in
// a private mount namespace of a thread of its own, and waits for it. The
// error is the attaching's, or what `create` returned.
SysError WithAttachedLayers(const OpenedLayers& layers, const std::function<SysError(const OpenedLayers&)>& create);

}  // namespace ovl
