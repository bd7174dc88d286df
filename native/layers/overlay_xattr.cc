#include "layers/overlay_xattr.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

namespace ovl {

namespace {

SysError LastIsSymlink(const Entry& entry, const char* syscall) {
  SysError e = SysError::Invalid(entry.field, entry.display, "'" + entry.display + "' is a symlink, and the last component is never followed", ELOOP);
  e.syscall = syscall;
  return e;
}

}  // namespace

std::string OverlayXattr(const char* name, bool userxattr) {
  return std::string(userxattr ? "user.overlay." : "trusted.overlay.") + name;
}

Outcome<UniqueFd> OpenDirectory(const Entry& entry) {
  int fd = ::openat(entry.dirFd, entry.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return UniqueFd(fd);
  SysError error = SysError::FromErrno("openat", entry.display, entry.field);
  // O_NOFOLLOW with O_DIRECTORY says ELOOP or ENOTDIR for a symlink, depending on the kernel.
  struct stat st {};
  if ((error.errnum == ELOOP || error.errnum == ENOTDIR) && ::fstatat(entry.dirFd, entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    return LastIsSymlink(entry, "openat");
  }
  return error;
}

Outcome<char> ReadOpaque(int dirFd, bool userxattr, const Entry& entry) {
  char value[2];
  ssize_t n = ::fgetxattr(dirFd, OverlayXattr("opaque", userxattr).c_str(), value, sizeof value);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return '\0';
    if (errno == ERANGE) return '?';  // longer than any value the kernel reads
    return SysError::FromErrno("fgetxattr", entry.display, entry.field);
  }
  if (n == 1 && (value[0] == 'y' || value[0] == 'x')) return value[0];
  return '?';
}

SysError WriteOpaque(int dirFd, char value, bool userxattr, const Entry& entry) {
  if (::fsetxattr(dirFd, OverlayXattr("opaque", userxattr).c_str(), &value, 1, 0) != 0) {
    return SysError::FromErrno("fsetxattr", entry.display, entry.field);
  }
  return {};
}

SysError RemoveOpaque(int dirFd, bool userxattr, const Entry& entry) {
  if (::fremovexattr(dirFd, OverlayXattr("opaque", userxattr).c_str()) != 0 && errno != ENODATA) {
    return SysError::FromErrno("fremovexattr", entry.display, entry.field);
  }
  return {};
}

}  // namespace ovl
