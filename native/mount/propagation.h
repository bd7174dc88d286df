// Mount propagation (shared subtrees): whether mounts made beneath a mount
// spread to its peers in other mount namespaces.
#pragma once

#include <string>

#include "core/mount_request.h"
#include "util/sys_error.h"

namespace ovl {

// As an MS_* value (struct mount_attr takes the same); 0 for Keep.
unsigned long PropagationFlag(Propagation propagation);

// Sets the propagation of the mount whose root `mountRootFd` is: mount_setattr
// (5.12+), else mount(2) on the fd's /proc/self/fd name.
SysError SetPropagation(int mountRootFd, Propagation propagation, const std::string& path);

}  // namespace ovl
