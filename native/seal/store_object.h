// One file's content put into a sealed store under its fs-verity digest
// (`xx/<62 hex>`), written so that a crash leaves either the whole object or
// none: a temporary beside it, fsync, fs-verity enabled where the store's
// filesystem has it, then a rename that never replaces. An object already
// there is kept as it is: objects are shared by every image of the store.
#pragma once

#include <cstdint>
#include <string>

#include "seal/fsverity_digest.h"
#include "util/sys_error.h"

namespace ovl {

struct StoredObject {
  VerityDigest digest{};
  bool added = false;  // false: the store already had it
};

// `source` (open for reading, `sourcePath` names it in an error) measured and
// stored beneath the store directory open at `storeFd` (`store` names it).
Outcome<StoredObject> StoreObject(int storeFd, const std::string& store, int source, const std::string& sourcePath);

// "xx/<62 hex>", the object's name in a store.
std::string ObjectName(const VerityDigest& digest);

}  // namespace ovl
