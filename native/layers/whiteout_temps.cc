#include "layers/whiteout_temps.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "layers/layer_dir.h"
#include "layers/whiteout_fs.h"
#include "util/fault.h"

namespace ovl {
namespace {

// Unlinks what a killed process left: only names of the temporary shape
// whose entry has a shape a temporary can have (IsWhiteoutLeftover), so a
// user's own file that happens to be named `.ovl-wh-...` stays. Every entry is
// judged before any is unlinked: a batch's two backups of one file each count
// the other as its second link. A file those names alone hold is emptied
// first, so that a kill of this cleaner half way leaves a temporary's shape.
void RemoveLeftovers(int dirFd, const MoreLeftovers* more) {
  std::vector<std::string> names;
  if (!ReadNames(dirFd, names)) return;
  std::vector<std::pair<std::string, struct stat>> leftovers;
  std::vector<std::string> others;
  std::map<std::pair<dev_t, ino_t>, nlink_t> namesOfInode;
  for (const std::string& name : names) {
    // Only a temporary's name can be a leftover: a directory of thousands of
    // the user's entries costs no stat each (convert's temporaries are told
    // by their entry, so with `more` every name is looked at).
    if (more == nullptr && !IsWhiteoutTempName(name)) continue;
    struct stat st {};
    if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (more != nullptr && more->is(name, st)) others.push_back(name);
    if (!IsWhiteoutLeftover(name, st)) continue;
    leftovers.emplace_back(name, st);
    namesOfInode[{st.st_dev, st.st_ino}]++;
  }
  for (const auto& [name, st] : leftovers) {
    if (!S_ISREG(st.st_mode) || st.st_size == 0 || namesOfInode[{st.st_dev, st.st_ino}] != st.st_nlink) continue;
    UniqueFd file(::openat(dirFd, name.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (file.valid()) ::ftruncate(file.get(), 0);
  }
  for (const auto& leftover : leftovers) ::unlinkat(dirFd, leftover.first.c_str(), 0);
  if (more != nullptr) more->remove(dirFd, others);
}

}  // namespace

UniqueFd LockTempDir(int dirFd, const MoreLeftovers* more) {
  // flock needs a real open file (an O_PATH fd is refused), and its own open
  // file description: the lock belongs to it, not to the process.
  UniqueFd dir(::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return dir;
  if (::flock(dir.get(), LOCK_EX | LOCK_NB) == 0) {
    RemoveLeftovers(dir.get(), more);
    // Converting to shared may drop the lock for a moment; a cleaner of
    // another process who takes it then finds no temporary of ours yet.
    if (::flock(dir.get(), LOCK_SH) != 0) return UniqueFd();
  } else if (errno != EWOULDBLOCK || ::flock(dir.get(), LOCK_SH) != 0) {
    // Someone is making temporaries there (EWOULDBLOCK): wait for a cleaner
    // to finish and share the lock. Anything else: no locks on this filesystem.
    return UniqueFd();
  }
  FaultAt("whiteout.temps-locked");
  return dir;
}

void TempNameDirs::Enter(int dirFd) {
  struct stat st {};
  if (::fstat(dirFd, &st) != 0) return;
  auto key = std::make_pair(st.st_dev, st.st_ino);
  if (held_.count(key) != 0) return;
  UniqueFd dir = LockTempDir(dirFd);
  if (dir.valid()) held_.emplace(key, std::move(dir));
}

}  // namespace ovl
