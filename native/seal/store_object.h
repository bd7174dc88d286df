// Files' contents put into a sealed store under their fs-verity digests
// (`xx/<62 hex>`), written so that a crash leaves either the whole object or
// none: each into a temporary beside its name, then, for all of a seal's
// objects at once, syncfs, fs-verity enabled where the store's filesystem
// has it, a rename that never replaces, and syncfs again. One sync for the
// lot, not an fsync per object: 4,225 fsyncs took 22 of a seal's 28 s on
// this machine's ext4. An object already there is kept as it is: objects
// are shared by every image of the store.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "images/fsverity_digest.h"
#include "util/sys_error.h"

namespace ovl {

struct StoredObject {
  VerityDigest digest{};
  std::string temp;  // its temporary, to publish; empty when the store already had it
};

// `source` (open for reading, `sourcePath` names it in an error) measured and,
// unless the store open at `storeFd` (`store` names it) has it or `pending`
// (objects already written to temporaries) holds its name, written to a temporary.
Outcome<StoredObject> StoreObject(int storeFd, const std::string& store, int source, const std::string& sourcePath, const std::set<std::string>& pending);

// Each temporary made durable and renamed to its object; on an error the temporaries not yet renamed are removed.
SysError PublishObjects(int storeFd, const std::string& store, const std::vector<StoredObject>& pending);

// The temporaries removed (a seal that failed before publishing).
void DropObjects(const std::vector<StoredObject>& pending);

// "xx/<62 hex>", the object's name in a store.
std::string ObjectName(const VerityDigest& digest);

}  // namespace ovl
