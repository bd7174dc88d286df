// Whether this kernel's overlay honours xattr whiteouts in a lower layer
// (6.7+, opaque marker 'x' 6.7.3/6.8), learned by mounting a tiny overlay.
#pragma once

namespace ovl {

enum class Tristate { Unknown = -1, No = 0, Yes = 1 };

// Builds its layers inside `scratchFd` (a directory of the check's own, in
// the caller's work directory) and removes them. A Yes or No is kept for the
// process; Unknown without CAP_SYS_ADMIN, or where that filesystem takes no
// trusted xattrs (the caller then falls back on the kernel version), or
// with no scratch directory (-1).
Tristate ProbeXattrWhiteouts(int scratchFd);

}  // namespace ovl
