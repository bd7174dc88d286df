#include "propagation.h"

#include <fcntl.h>
#include <sys/mount.h>

#include <cerrno>

#include "util/sys.h"
#include "util/unique_fd.h"

namespace ovl {

unsigned long PropagationFlag(const std::string& name) {
  if (name == "private") return MS_PRIVATE;
  if (name == "shared") return MS_SHARED;
  if (name == "slave") return MS_SLAVE;
  if (name == "unbindable") return MS_UNBINDABLE;
  return 0;
}

SysError SetPropagation(int mountRootFd, const std::string& name, const std::string& path) {
  unsigned long flag = PropagationFlag(name);
  if (flag == 0) return SysError::Invalid("propagation", path, "unknown propagation '" + name + "'");
  struct mount_attr attr {};
  attr.propagation = flag;
  if (sys::mount_setattr(mountRootFd, "", AT_EMPTY_PATH, &attr) == 0) return {};
  if (errno != ENOSYS) return SysError::FromErrno("mount_setattr", path, "propagation");
  // Before 5.12: the magic link names exactly this mount's root, whatever is mounted above the path.
  if (::mount(nullptr, FdPath(mountRootFd).c_str(), nullptr, flag, nullptr) == 0) return {};
  return SysError::FromErrno("mount", path, "propagation");
}

}  // namespace ovl
