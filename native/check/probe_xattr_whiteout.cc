// Builds two lower layers inside the check's scratch directory (in the work
// directory the caller gave): the top one holds d/f as an xattr whiteout
// (d marked opaque "x"), the bottom one a real d/f. The overlay is made with
// fsmount and never attached anywhere: it is looked into through its fd and
// vanishes when that closes, and then the layers are removed. If d/f shows
// through, the kernel does not honour xattr whiteouts.
#include "check/probe_xattr_whiteout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "util/sys.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

constexpr const char* kTree = "xattr-whiteout";

bool MakeFile(int dirFd, const char* name, const char* content, const char* xattr) {
  UniqueFd fd(::openat(dirFd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd.valid()) return false;
  size_t len = std::char_traits<char>::length(content);
  if (::write(fd.get(), content, len) != static_cast<ssize_t>(len)) return false;
  return xattr == nullptr || ::fsetxattr(fd.get(), xattr, "", 0, 0) == 0;
}

UniqueFd MakeDir(int parentFd, const char* name) {
  if (::mkdirat(parentFd, name, 0700) != 0) return UniqueFd();
  return UniqueFd(::openat(parentFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// tree/{top,bottom}/d/f; returns the two layers' fds.
bool BuildLayers(int scratchFd, UniqueFd* top, UniqueFd* bottom) {
  UniqueFd tree = MakeDir(scratchFd, kTree);
  if (!tree.valid()) return false;
  *top = MakeDir(tree.get(), "top");
  *bottom = MakeDir(tree.get(), "bottom");
  if (!top->valid() || !bottom->valid()) return false;
  UniqueFd topD = MakeDir(top->get(), "d");
  UniqueFd bottomD = MakeDir(bottom->get(), "d");
  return topD.valid() && bottomD.valid() && MakeFile(bottomD.get(), "f", "lower", nullptr) &&
         MakeFile(topD.get(), "f", "", "trusted.overlay.whiteout") && ::fsetxattr(topD.get(), "trusted.overlay.opaque", "x", 1, 0) == 0;
}

void RemoveLayers(int scratchFd) {
  for (const char* file : {"xattr-whiteout/top/d/f", "xattr-whiteout/bottom/d/f"}) ::unlinkat(scratchFd, file, 0);
  for (const char* dir : {"xattr-whiteout/top/d", "xattr-whiteout/bottom/d", "xattr-whiteout/top", "xattr-whiteout/bottom", "xattr-whiteout"}) {
    ::unlinkat(scratchFd, dir, AT_REMOVEDIR);
  }
}

std::string FdName(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Tristate Probe(int scratchFd) {
  UniqueFd top, bottom;
  if (!BuildLayers(scratchFd, &top, &bottom)) return Tristate::Unknown;
  // fd names: short, and free of the ',' ':' '\' a work path may hold, on every kernel's parser.
  std::string lowerdir = FdName(top.get()) + ":" + FdName(bottom.get());
  UniqueFd fs(sys::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs.valid()) return Tristate::Unknown;
  if (sys::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir", lowerdir.c_str(), 0) != 0) return Tristate::Unknown;
  if (sys::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return Tristate::Unknown;
  UniqueFd mnt(sys::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY));
  if (!mnt.valid()) return Tristate::Unknown;
  struct stat st {};
  if (::fstatat(mnt.get(), "d", &st, AT_SYMLINK_NOFOLLOW) != 0) return Tristate::Unknown;  // the overlay itself is broken
  if (::fstatat(mnt.get(), "d/f", &st, AT_SYMLINK_NOFOLLOW) == 0) return Tristate::No;
  return errno == ENOENT ? Tristate::Yes : Tristate::Unknown;
}

// A kernel answer holds for the process; Unknown (no xattrs on this work's
// filesystem, no privilege) is asked again with the next directory.
std::atomic<int> known{static_cast<int>(Tristate::Unknown)};

}  // namespace

Tristate ProbeXattrWhiteouts(int scratchFd) {
  auto cached = static_cast<Tristate>(known.load());
  if (cached != Tristate::Unknown || scratchFd < 0) return cached;
  Tristate answer = Probe(scratchFd);
  RemoveLayers(scratchFd);
  if (answer != Tristate::Unknown) known.store(static_cast<int>(answer));
  return answer;
}

}  // namespace ovl
