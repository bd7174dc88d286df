// Opening the overlay mounted on a path, for operations that change a mount
// that already exists: they must act on that overlay, never on whatever
// mount happens to contain the path.
#pragma once

#include <string>

#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

// An O_PATH fd on the root of the overlay mounted at `path` (the topmost one).
// Refuses a path that is not a mount point, or a mount that is not an overlay.
Outcome<UniqueFd> OpenOverlayMountRoot(const std::string& path, const std::string& field);

// Rolls back a mount this process just attached at `path`: detaches the
// topmost mount there only if it is still the one `mountFd` refers to.
void DetachOwnMount(const std::string& path, int mountFd);

}  // namespace ovl
