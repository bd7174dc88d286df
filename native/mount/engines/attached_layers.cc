#include "mount/engines/attached_layers.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "mount/idmap/idmap.h"
#include "util/fault.h"
#include "util/own_thread.h"
#include "util/sys.h"

namespace ovl {
namespace {

Layer Duplicate(const Layer& layer) {
  Layer copy{layer.path, layer.role, layer.index, UniqueFd(::fcntl(layer.fd.get(), F_DUPFD_CLOEXEC, 0))};
  copy.detached = layer.detached;
  copy.image = layer.image;
  copy.idmapDeferred = layer.idmapDeferred;
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

// A layer in an image: its fd already lies inside the image's mount, which
// AttachImages has attached here, so the same directory now names a mount of
// this namespace.
Outcome<Layer> Prepare(const Layer& layer) {
  if (layer.image >= 0) return Duplicate(layer);
  return layer.role == std::string("upper") || layer.role == std::string("work") ? Reopen(layer) : Attach(layer);
}

SysError PrepareAll(const std::vector<Layer>& from, std::vector<Layer>* to) {
  for (const Layer& layer : from) {
    auto prepared = Prepare(layer);
    if (prepared.error) return prepared.error;
    to->push_back(std::move(prepared.value));
  }
  return {};
}

// Each image's detached mount attached in this namespace, all stacked on the
// target's path (a directory known to exist; nothing looks them up by path,
// and they end with the namespace). Done after every plain layer has been
// reopened, so none of those lookups meets them.
SysError AttachImages(const OpenedLayers& layers, int* attached) {
  for (const ImageMount& image : layers.images) {
    if (sys::move_mount(image.mount.get(), "", AT_FDCWD, layers.target.path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
      return SysError::FromErrno("move_mount", image.info.image, image.field);
    }
    ++*attached;
  }
  return {};
}

// The layers inside images that could not be cloned while their image was
// detached: now that it is attached here, each is cloned and idmapped
// (mount/idmap.h), and the idmapped tree stacked on the target's path like the
// images, to be a mount of this namespace too; the layer is then its root.
SysError IdmapDeferredLayers(const OpenedLayers& layers, std::vector<Layer>* group, int* attached) {
  for (Layer& layer : *group) {
    if (!layer.idmapDeferred) continue;
    if (auto e = IdmapAttachedImageLayer(layers, &layer)) return e;
    int moved = sys::move_mount(layer.fd.get(), "", AT_FDCWD, layers.target.path.c_str(), MOVE_MOUNT_F_EMPTY_PATH);
    if (int injected = FaultAt("idmap-attached.move_mount")) {
      if (moved == 0) ++*attached;  // stacked already: taken off again with the images
      moved = -1;
      errno = injected;
    }
    if (moved != 0) return SysError::FromErrno("move_mount", layer.path, layer.field());
    ++*attached;
    UniqueFd root(::open(layers.target.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return SysError::FromErrno("open", layer.path, layer.field());
    layer.fd = std::move(root);
  }
  return {};
}

// Takes the images off the target's path again before the thread ends. Left
// to the namespace's end, their release would run after the thread has gone,
// from a kernel work queue: a loop device could still be bound for a moment
// after a failed mount returned. Unmounted here, the release runs before
// umount2 returns. Only the `count` mounts stacked here go: the target's own
// mounts (the overlay replace is replacing) are beneath them.
void DetachImages(const std::string& target, int count) {
  for (int i = 0; i < count; i++) ::umount2(target.c_str(), MNT_DETACH);
}

SysError AttachedCopy(const OpenedLayers& layers, OpenedLayers* copy, int* attachedImages) {
  if (auto e = PrepareAll(layers.lower, &copy->lower)) return e;
  if (auto e = PrepareAll(layers.data, &copy->data)) return e;
  copy->hasUpper = layers.hasUpper;
  if (layers.hasUpper) {
    auto upper = Prepare(layers.upper);
    if (upper.error) return upper.error;
    auto work = Prepare(layers.work);
    if (work.error) return work.error;
    copy->upper = std::move(upper.value);
    copy->work = std::move(work.value);
  }
  copy->target = Duplicate(layers.target);  // attached by the caller, in its own namespace
  if (!layers.images.empty()) {
    if (auto e = AttachImages(layers, attachedImages)) return e;
    if (auto e = IdmapDeferredLayers(layers, &copy->lower, attachedImages)) return e;
    if (auto e = IdmapDeferredLayers(layers, &copy->data, attachedImages)) return e;
    // With images stacked on the target's path, a layer named by its path
    // could resolve into them: every layer goes by fd (or its fd's name).
    for (auto* group : {&copy->lower, &copy->data}) {
      for (Layer& layer : *group) layer.detached = true;
    }
    copy->upper.detached = copy->work.detached = true;
  }
  return {};
}

}  // namespace

bool HasDetachedLayers(const OpenedLayers& layers) {
  if (!layers.images.empty()) return true;
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
    int attachedImages = 0;
    SysError result = AttachedCopy(layers, &copy, &attachedImages);
    if (!result) result = create(copy);
    DetachImages(layers.target.path, attachedImages);
    return result;
  });
}

}  // namespace ovl
