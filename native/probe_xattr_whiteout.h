// Whether this kernel's overlay honours xattr whiteouts in a lower layer
// (6.7+, opaque marker 'x' 6.7.3/6.8), learned by mounting a tiny overlay.
#pragma once

namespace ovl {

enum class Tristate { Unknown = -1, No = 0, Yes = 1 };

// Probed once per process; Unknown without CAP_SYS_ADMIN or a /tmp that
// takes trusted xattrs (the caller then falls back on the kernel version).
Tristate ProbeXattrWhiteouts();

}  // namespace ovl
