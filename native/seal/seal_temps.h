// The temporaries a seal writes, and what a killed seal leaves of them:
// objects being written (`STORE/xx/.seal-XXXXXX` files) and the staging
// directory beside IMAGE (`.seal-XXXXXX`, where the image is written).
// The protocol is layers/whiteout_temps.h's: while a seal may have
// temporaries it holds a shared flock on the store and on IMAGE's directory;
// a seal that gets such a lock exclusively knows no live seal has
// temporaries there, so every one found is a dead seal's. Nothing else tells
// a live seal's temporary from a dead one's, so a seal that finds another
// running leaves them for a later one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/sys_error.h"

namespace ovl {

struct SealTemps {
  int storeFd = -1;                 // holds the shared lock on the store; -1 when it could not be locked
  int imageDirFd = -1;              // on IMAGE's directory; -1 when it is the store's (one lock holds both) or could not be locked
  std::vector<std::string> stale;   // dead staging directories beside IMAGE (names), for the caller to remove
  uint64_t removedObjects = 0;      // dead object temporaries removed from the store
};

// Both directories locked shared (a dead seal's object temporaries removed
// from the store, its staging directories listed, where the lock was had
// exclusively first). Best effort: a directory that cannot be opened or
// locked is neither locked nor cleaned, and the seal's own checks say why.
// The fds belong to the caller, who closes them once its temporaries are gone.
SealTemps EnterSealTemps(const std::string& store, const std::string& imageDir);

// A bare name of the `.seal-XXXXXX` shape (mkstemp's six letters or digits).
bool IsSealTempName(const char* name);

}  // namespace ovl
