// The staging tree a sealed image is packed from: SRC's tree again, entry for
// entry with its owners, modes, nanosecond times, xattrs and hard links, but
// each regular non-empty file an empty file of its size (sparse) that carries
// trusted.overlay.metacopy (the content's fs-verity digest) and
// trusted.overlay.redirect (`/xx/<62 hex>`), its content put into the store.
// SRC's own trusted.overlay.* xattrs are not kept: overlay would read them as
// its own in the sealed layer.
#pragma once

#include <cstdint>
#include <string>

#include "util/sys_error.h"

namespace ovl {

struct StageCounts {
  uint64_t files = 0;       // regular non-empty files (each one object reference)
  uint64_t added = 0;       // objects this seal put into the store
  uint64_t addedBytes = 0;  // their bytes
  bool acl = false;         // some entry has a POSIX ACL (system.posix_acl_*), which composefs' header says
};

// `staging` must not exist; it is made and filled. Errors name 'source', 'store' or 'image'.
Outcome<StageCounts> StageTree(const std::string& source, const std::string& store, const std::string& staging);

}  // namespace ovl
