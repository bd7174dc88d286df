// Making a user namespace with given id maps, for idmapped mounts: a
// short-lived child holds it while the parent writes its maps and opens it.
#pragma once

#include <string>

#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

// uidMap / gidMap: lines "inside outside count\n", as /proc/PID/uid_map takes them.
Outcome<UniqueFd> MakeUserNamespace(const std::string& uidMap, const std::string& gidMap);

}  // namespace ovl
