// Mount propagation (shared subtrees): whether mounts made beneath a mount
// spread to its peers in other mount namespaces.
#pragma once

#include <string>

#include "util/sys_error.h"

namespace ovl {

// "private", "shared", "slave", "unbindable" as MS_* values; 0 for anything else.
unsigned long PropagationFlag(const std::string& name);

// Sets the propagation of the mount whose root `mountRootFd` is: mount_setattr
// (5.12+), else mount(2) on the fd's /proc/self/fd name.
SysError SetPropagation(int mountRootFd, const std::string& name, const std::string& path);

}  // namespace ovl
