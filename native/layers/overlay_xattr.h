// The overlay xattrs as the kernel reads them: under trusted.* by default,
// under user.* to match the `userxattr` mount option.
#pragma once

#include <string>

#include "layers/resolve.h"
#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

// "opaque" -> "trusted.overlay.opaque" (or "user.overlay.opaque").
std::string OverlayXattr(const char* name, bool userxattr);

// Opens the directory an entry names, for its xattrs; a symlink is refused, never followed.
Outcome<UniqueFd> OpenDirectory(const Entry& entry);

// overlay.opaque: 'y' (opaque), 'x' (holds xattr whiteouts), '?' for any
// other value (which the kernel ignores), 0 when absent.
Outcome<char> ReadOpaque(int dirFd, bool userxattr, const Entry& entry);
SysError WriteOpaque(int dirFd, char value, bool userxattr, const Entry& entry);
// Absent already is success: the directory ends up not opaque either way.
SysError RemoveOpaque(int dirFd, bool userxattr, const Entry& entry);

}  // namespace ovl
