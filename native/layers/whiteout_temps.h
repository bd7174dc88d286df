// The temporary names a forced (or xattr) whiteout lives under for a moment
// (and toOci's temporaries, convert/oci_temps.h), and what a killed process leaves of them. A process making temporaries in
// a directory holds a shared flock on it for as long as any may exist; a
// process that gets the lock exclusively knows no temporary there is alive,
// and removes the ones a crash left. Nothing else tells a live temporary of
// another process from a dead one.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/unique_fd.h"

namespace ovl {

// The directory open at dirFd (an O_PATH fd will do) entered as above: its
// leftovers cleaned when no other process is making temporaries there, then
// an fd of it returned holding the shared lock; invalid when the directory
// cannot be opened for reading or locked (then it is not cleaned either).
// `more`: other temporaries of the same protocol, recognised and removed
// alongside (convert's, convert/oci_temps.h; a whiteout in a layer passes
// none, so it never removes a directory of the user's).
struct MoreLeftovers {
  bool (*is)(const std::string& name, const struct stat& st);
  void (*remove)(int dirFd, const std::vector<std::string>& names);
};
UniqueFd LockTempDir(int dirFd, const MoreLeftovers* more = nullptr);

class TempNameDirs {
 public:
  // Enters the directory open at dirFd (an O_PATH fd will do): cleans its
  // leftovers when no other process is making temporaries there, then holds
  // the shared lock until this object goes. Once per directory; best effort:
  // a directory that cannot be opened for reading or locked (no read
  // permission, a filesystem without flock) is entered unlocked and not cleaned.
  void Enter(int dirFd);

 private:
  std::map<std::pair<dev_t, ino_t>, UniqueFd> held_;
};

}  // namespace ovl
