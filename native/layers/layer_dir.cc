#include "layers/layer_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>

#include "layers/overlay_xattr.h"
#include "layers/whiteout_fs.h"

namespace ovl {
namespace {

// The kernel's record; glibc declares no getdents64 before 2.30.
struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

}  // namespace

bool ReadNames(int dirFd, std::vector<std::string>& names) {
  // One buffer per thread: a walk reads many directories, one after another.
  thread_local std::vector<char> buffer(64 * 1024);
  names.clear();
  for (;;) {
    long n = ::syscall(SYS_getdents64, dirFd, buffer.data(), buffer.size());
    if (n < 0) return false;
    if (n == 0) break;
    for (long at = 0; at < n;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(buffer.data() + at);
      at += d->d_reclen;
      const char* name = d->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      names.emplace_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return true;
}

UniqueFd OpenDirAt(int dirFd, const std::string& name) {
  return UniqueFd(::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

bool IsWhiteoutAt(int dirFd, const std::string& name, const struct stat& st, bool userxattr) {
  errno = 0;
  if (S_ISCHR(st.st_mode)) return st.st_rdev == makedev(0, 0);
  if (!S_ISREG(st.st_mode) || st.st_size != 0) return false;
  // fgetxattr needs a real fd; O_NONBLOCK and O_NOFOLLOW cover a swap since the lstat.
  UniqueFd file(::openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file.valid()) {
    if (errno == ENOENT || errno == ELOOP) errno = 0;
    return false;
  }
  if (::fgetxattr(file.get(), OverlayXattr("whiteout", userxattr).c_str(), nullptr, 0) >= 0) return true;
  if (errno == ENODATA || errno == ENOTSUP) errno = 0;
  return false;
}

int OpaqueOf(int dirFd, bool userxattr) {
  char value[2];
  ssize_t n = ::fgetxattr(dirFd, OverlayXattr("opaque", userxattr).c_str(), value, sizeof value);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return 0;
    if (errno == ERANGE) return '?';
    return -1;
  }
  if (n == 1 && (value[0] == 'y' || value[0] == 'x')) return value[0];
  return '?';
}

bool IsWhiteoutLeftover(const std::string& name, const struct stat& st) {
  if (!IsWhiteoutTempName(name)) return false;
  bool whiteoutLike = (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) || (S_ISREG(st.st_mode) && st.st_size == 0);
  return whiteoutLike || (!S_ISDIR(st.st_mode) && st.st_nlink > 1);
}

}  // namespace ovl
