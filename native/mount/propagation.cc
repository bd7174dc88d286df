#include "mount/propagation.h"

#include <fcntl.h>
#include <sys/mount.h>

#include <cerrno>

#include "util/sys.h"
#include "util/unique_fd.h"

namespace ovl {

unsigned long PropagationFlag(Propagation propagation) {
  switch (propagation) {
    case Propagation::Private: return MS_PRIVATE;
    case Propagation::Shared: return MS_SHARED;
    case Propagation::Slave: return MS_SLAVE;
    case Propagation::Unbindable: return MS_UNBINDABLE;
    default: return 0;
  }
}

SysError SetPropagation(int mountRootFd, Propagation propagation, const std::string& path) {
  unsigned long flag = PropagationFlag(propagation);
  if (flag == 0) return {};
  struct mount_attr attr {};
  attr.propagation = flag;
  if (sys::mount_setattr(mountRootFd, "", AT_EMPTY_PATH, &attr) == 0) return {};
  if (errno != ENOSYS) return SysError::FromErrno("mount_setattr", path, "propagation");
  // Before 5.12: the magic link names exactly this mount's root, whatever is mounted above the path.
  if (::mount(nullptr, FdPath(mountRootFd).c_str(), nullptr, flag, nullptr) == 0) return {};
  return SysError::FromErrno("mount", path, "propagation");
}

}  // namespace ovl
