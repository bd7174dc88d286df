// Idmapped lower layers: each lower is cloned as a detached tree
// (open_tree OPEN_TREE_CLONE) and given the mapping of a user namespace
// (mount_setattr MOUNT_ATTR_IDMAP); no bind mount ever appears on disk.
#pragma once

#include <string>

#include "core/mount_request.h"
#include "mount/opened_layers.h"
#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

// A user namespace fd: opened from idmap.userns, or made with the maps.
Outcome<UniqueFd> OpenIdmapUserNamespace(const IdmapRequest& idmap);

// Replaces every lower and data layer's fd with an idmapped clone of it. A
// layer inside an image that this kernel cannot clone while the image is
// detached (before 6.15) is marked idmapDeferred instead, and the user
// namespace kept in layers->deferredIdmap.
SysError IdmapLowerLayers(const IdmapRequest& idmap, OpenedLayers* layers);

// A deferred layer, once its image is attached in the private namespace:
// its fd becomes a detached idmapped clone (to be attached in turn).
SysError IdmapAttachedImageLayer(const OpenedLayers& layers, Layer* layer);

}  // namespace ovl
