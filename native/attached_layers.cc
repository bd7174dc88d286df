#include "attached_layers.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/own_thread.h"
#include "util/sys.h"

namespace ovl {
namespace {

Layer Duplicate(const Layer& layer) {
  Layer copy{layer.path, layer.role, layer.index, UniqueFd(::fcntl(layer.fd.get(), F_DUPFD_CLOEXEC, 0))};
  copy.detached = layer.detached;
  return copy;
}

bool SameFile(int a, int b) {
  struct stat sa {}, sb {};
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// An fd opened before the unshare names a mount of the old namespace, which
// overlay would refuse too: open the path again here, and insist it is the
// directory checked before.
Outcome<Layer> Reopen(const Layer& layer) {
  UniqueFd fd(::open(layer.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    SysError e = SysError::FromErrno("open", layer.path);
    e.field = layer.field();
    return e;
  }
  if (!SameFile(fd.get(), layer.fd.get())) {
    return SysError::Invalid(layer.field(), layer.path, "'" + layer.path + "' was replaced while the overlay was being made", EBUSY);
  }
  return Layer{layer.path, layer.role, layer.index, std::move(fd)};
}

// A detached tree attached over its layer's path, and that mount's root
// opened, so the copy names the attached mount (still by fd, as before).
Outcome<Layer> Attach(const Layer& layer) {
  if (!layer.detached) return Reopen(layer);
  if (sys::move_mount(layer.fd.get(), "", AT_FDCWD, layer.path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    SysError e = SysError::FromErrno("move_mount", layer.path);
    e.field = layer.field();
    return e;
  }
  UniqueFd root(::open(layer.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    SysError e = SysError::FromErrno("open", layer.path);
    e.field = layer.field();
    return e;
  }
  Layer copy{layer.path, layer.role, layer.index, std::move(root)};
  copy.detached = true;  // still handed over by fd: the path outside this namespace is the plain one
  return copy;
}

SysError AttachAll(const std::vector<Layer>& from, std::vector<Layer>* to) {
  for (const Layer& layer : from) {
    auto attached = Attach(layer);
    if (attached.error) return attached.error;
    to->push_back(std::move(attached.value));
  }
  return {};
}

SysError AttachedCopy(const OpenedLayers& layers, OpenedLayers* copy) {
  if (auto e = AttachAll(layers.lower, &copy->lower)) return e;
  if (auto e = AttachAll(layers.data, &copy->data)) return e;
  copy->hasUpper = layers.hasUpper;
  if (layers.hasUpper) {
    auto upper = Reopen(layers.upper);
    if (upper.error) return upper.error;
    auto work = Reopen(layers.work);
    if (work.error) return work.error;
    copy->upper = std::move(upper.value);
    copy->work = std::move(work.value);
  }
  copy->target = Duplicate(layers.target);  // attached by the caller, in its own namespace
  return {};
}

}  // namespace

bool HasDetachedLayers(const OpenedLayers& layers) {
  for (const auto* group : {&layers.lower, &layers.data}) {
    for (const Layer& layer : *group) {
      if (layer.detached) return true;
    }
  }
  return false;
}

SysError WithAttachedLayers(const OpenedLayers& layers, const std::function<SysError(const OpenedLayers&)>& create) {
  // A thread of its own: a mount namespace cannot be left again, and Node's
  // threads must keep the process's. The namespace dies with the thread.
  return RunInOwnThread("idmap", [&]() -> SysError {
    if (::unshare(CLONE_FS | CLONE_NEWNS) != 0) return SysError::FromErrno("unshare");
    // The copied mounts share peer groups with the originals: make them
    // private first, so nothing attached here propagates out.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return SysError::FromErrno("mount", "/");
    OpenedLayers copy;
    if (auto e = AttachedCopy(layers, &copy)) return e;
    return create(copy);
  });
}

}  // namespace ovl
