// Opens every directory a mount names before anything is handed to the
// kernel, and checks the opened directories (not strings that could change).
#pragma once

#include "core/mount_request.h"
#include "mount/opened_layers.h"
#include "util/sys_error.h"

namespace ovl {

Outcome<OpenedLayers> OpenLayers(const MountRequest& request);

// How overlay's two writable directories sit: the kernel needs them on one
// mount and in separate subtrees (ovl_get_workdir, fs/overlayfs/super.c).
enum class UpperWorkRelation { Separate, DifferentMounts, Same, WorkInsideUpper, UpperInsideWork, Unknown };

// Unknown when either cannot be statx'ed; errno then says why.
UpperWorkRelation RelateUpperAndWork(int upperFd, int workFd);

}  // namespace ovl
