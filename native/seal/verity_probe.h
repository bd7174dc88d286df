// Whether a store can give overlay's `verity=require` what it checks: the
// kernel asks each data object for its fs-verity digest when the file is
// opened, so a store whose filesystem (or kernel) has no fs-verity fails
// every read with EIO. Asked once before mounting, so the refusal names the
// reason instead.
#pragma once

#include <string>

#include "util/sys_error.h"

namespace ovl {

struct VerityProbe {
  long fsType = 0;        // statfs f_type of the store
  std::string object;     // the object asked ("xx/<62 hex>"), empty when the store has none
  int errnum = 0;         // FS_IOC_MEASURE_VERITY's errno on it: 0 enabled, ENODATA not enabled, ENOTTY/EOPNOTSUPP none here
};

Outcome<VerityProbe> ProbeStoreVerity(const std::string& store);

}  // namespace ovl
