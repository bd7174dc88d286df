// A sealed image's tree, collected from SRC in one walk and kept in memory
// for the image writer (erofs_writer.h): each entry's type, mode, owner,
// nanosecond mtime, device number, symlink target and xattrs (already in
// EROFS's inline form), a directory's names, and one entry for the names of
// a hard-linked file. Each regular non-empty file's content goes into the
// store under its fs-verity digest (store_object.h), written to a temporary
// the caller publishes, and its entry carries trusted.overlay.metacopy (the
// digest) and trusted.overlay.redirect (`/xx/<62 hex>`) instead of data.
// SRC's own trusted.overlay.* xattrs are not kept: overlay would read them
// as its own in the sealed layer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "seal/store_object.h"
#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

struct SealCounts {
  uint64_t files = 0;       // regular non-empty files (each one object reference)
  uint64_t added = 0;       // objects this seal put into the store
  uint64_t addedBytes = 0;  // their bytes
  bool acl = false;         // some entry has a POSIX ACL (system.posix_acl_*), which composefs' header says
};

struct SealEntry {
  uint32_t mode = 0, uid = 0, gid = 0;
  uint32_t links = 0;  // names it has in the tree (a directory's: 2 + its subdirectories)
  uint64_t size = 0;   // a regular file's size; a symlink's target's length
  int64_t mtime = 0;
  uint32_t mtimeNsec = 0;
  uint32_t rdev = 0;        // the kernel's new_encode_dev form
  std::string target;       // a symlink's
  std::string xattrs;       // the inline xattr body (erofs_xattrs.h)
  std::vector<std::pair<std::string, uint32_t>> children;  // a directory's names and entries, sorted by name bytes
};

struct SealTree {
  std::vector<SealEntry> entries;  // [0] is the root
  SealCounts counts;
  std::vector<StoredObject> pending;  // objects written to temporaries, to publish once the image is written
  UniqueFd storeFd;                   // the store, open
};

// `skip` (the image's temporary directory) and the store are left out
// should they lie inside SRC. Errors name 'source', 'store' or 'image'; on
// an error no temporary object is left.
Outcome<SealTree> CollectTree(const std::string& source, const std::string& store, const std::string& skip);

}  // namespace ovl
