// Object temporaries live in the store's `xx/` directories, so the store's
// lock covers them all with one fd, and a dead one is unlinked here while
// the exclusive lock is held. A staging directory holds a whole tree, which
// the caller removes (it removes its own the same way); a dead one found
// under the exclusive lock stays dead once the lock is shared again, since
// no live seal ever takes the name of an entry that exists.
#include "seal/seal_temps.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "layers/layer_dir.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

constexpr char kTempPrefix[] = ".seal-";

bool IsObjectDirName(const std::string& name) {
  if (name.size() != 2) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The directory at `path` locked shared; `exclusive` says whether it was had exclusively first (nobody else held it).
UniqueFd LockShared(const std::string& path, bool* exclusive) {
  *exclusive = false;
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return dir;
  if (::flock(dir.get(), LOCK_EX | LOCK_NB) == 0) {
    *exclusive = true;
    return dir;
  }
  // EWOULDBLOCK: another seal holds it; share it. Anything else: no locks on this filesystem.
  if (errno != EWOULDBLOCK || ::flock(dir.get(), LOCK_SH) != 0) return UniqueFd();
  return dir;
}

// Converting to shared may drop the lock for a moment; a cleaner who takes it then finds no temporary of ours yet.
bool Share(int fd) { return ::flock(fd, LOCK_SH) == 0; }

uint64_t RemoveDeadObjects(int storeFd) {
  uint64_t removed = 0;
  std::vector<std::string> dirs;
  if (!ReadNames(storeFd, dirs)) return 0;
  for (const std::string& dir : dirs) {
    if (!IsObjectDirName(dir)) continue;
    UniqueFd sub = OpenDirAt(storeFd, dir);
    std::vector<std::string> names;
    if (!sub.valid() || !ReadNames(sub.get(), names)) continue;
    for (const std::string& name : names) {
      struct stat st {};
      if (!IsSealTempName(name.c_str()) || ::fstatat(sub.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
      if (::unlinkat(sub.get(), name.c_str(), 0) == 0) removed++;
    }
  }
  return removed;
}

std::vector<std::string> DeadStagingDirs(int dirFd) {
  std::vector<std::string> names, stale;
  if (!ReadNames(dirFd, names)) return stale;
  for (const std::string& name : names) {
    struct stat st {};
    if (IsSealTempName(name.c_str()) && ::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) stale.push_back(name);
  }
  return stale;
}

bool SameDir(int a, int b) {
  struct stat sa {}, sb {};
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

bool IsSealTempName(const char* name) {
  if (std::strncmp(name, kTempPrefix, sizeof kTempPrefix - 1) != 0) return false;
  const char* rest = name + sizeof kTempPrefix - 1;
  if (std::strlen(rest) != 6) return false;
  for (const char* c = rest; *c; c++) {
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))) return false;
  }
  return true;
}

SealTemps EnterSealTemps(const std::string& store, const std::string& imageDir) {
  SealTemps temps;
  bool storeAlone = false, dirAlone = false;
  UniqueFd storeFd = LockShared(store, &storeAlone);
  UniqueFd dirFd;
  if (storeFd.valid()) {
    UniqueFd probe(::open(imageDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // The same directory: the store's lock stands for both (a second fd would contend with it).
    if (probe.valid() && SameDir(probe.get(), storeFd.get())) {
      dirAlone = storeAlone;
    } else {
      dirFd = LockShared(imageDir, &dirAlone);
    }
  } else {
    dirFd = LockShared(imageDir, &dirAlone);
  }
  if (storeFd.valid() && storeAlone) temps.removedObjects = RemoveDeadObjects(storeFd.get());
  int stagingFd = dirFd.valid() ? dirFd.get() : (storeFd.valid() && dirAlone ? storeFd.get() : -1);
  if (stagingFd >= 0 && dirAlone) temps.stale = DeadStagingDirs(stagingFd);
  if (storeFd.valid() && storeAlone && !Share(storeFd.get())) storeFd.reset();
  if (dirFd.valid() && dirAlone && !Share(dirFd.get())) dirFd.reset();
  temps.storeFd = storeFd.release();
  temps.imageDirFd = dirFd.release();
  return temps;
}

}  // namespace ovl
