#include "mount/idmap/idmap.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include <unistd.h>

#include <cerrno>

#include "mount/idmap/userns.h"
#include "util/fault.h"
#include "util/sys.h"

#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
#endif
#ifndef NS_GET_PARENT
#define NS_GET_PARENT _IO(0xb7, 0x2)
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

namespace ovl {
namespace {

Outcome<UniqueFd> OpenUserNamespace(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return SysError::FromErrno("open", path, "idmap.userns");
  int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
  if (type < 0) return SysError::Invalid("idmap.userns", path, "'" + path + "' is not a namespace file (/proc/PID/ns/user)");
  if (type != CLONE_NEWUSER) return SysError::Invalid("idmap.userns", path, "'" + path + "' is a namespace, but not a user namespace");
  return fd;
}

// Since when each image filesystem takes idmapped mounts (FS_ALLOW_IDMAP in
// its file_system_type): ext4 5.12, erofs 5.19, squashfs 6.2.
std::string IdmapSupportOf(const std::string& type) {
  if (type == "ext4") return "ext4 takes idmapped mounts since Linux 5.12";
  if (type == "erofs") return "erofs takes idmapped mounts since Linux 5.19";
  if (type == "squashfs") return "squashfs takes idmapped mounts since Linux 6.2";
  return type + " takes no idmapped mounts";
}

// What mount_setattr's EINVAL means here: the layer's filesystem cannot be
// idmapped. `imageType` names an image's filesystem ("" for a directory).
SysError IdmapRefused(const Layer& layer, const std::string& imageType) {
  SysError e = SysError::FromErrno("mount_setattr", layer.path, layer.field());
  if (e.errnum == EINVAL && !imageType.empty()) {
    e.reason = "the " + imageType + " filesystem of the image '" + layer.path + "' cannot be idmapped on this kernel (" + IdmapSupportOf(imageType) + ")";
  } else if (e.errnum == EINVAL) {
    e.reason = "the filesystem of '" + layer.path +
               "' cannot be idmapped (ext4, xfs, btrfs: 5.12+; tmpfs: 6.3+; some, such as 9p, never)";
  } else if (e.errnum == ENOSYS) {
    e.reason = "idmapped mounts need mount_setattr (Linux 5.12+)";
  }
  return e;
}

// The process directory a namespace file sits in: "/proc/PID" for
// "/proc/PID/ns/user" (also self, thread-self and task/TID); "" for any other path.
std::string ProcDirOf(const std::string& nsPath) {
  const std::string suffix = "/ns/user";
  if (nsPath.compare(0, 6, "/proc/") != 0 || nsPath.size() <= suffix.size() + 6) return {};
  if (nsPath.compare(nsPath.size() - suffix.size(), suffix.size(), suffix) != 0) return {};
  return nsPath.substr(0, nsPath.size() - suffix.size());
}

// Whether /proc/PID/<name> holds no map; false when it cannot be read.
bool MapIsEmpty(const std::string& procDir, const char* name) {
  UniqueFd fd(::open((procDir + "/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  char byte;
  return fd.valid() && ::read(fd.get(), &byte, 1) == 0;
}

// What a userns given by /proc/PID/ns/user lacks: "" when both maps are
// written (or they cannot be read: the kernel then has the last word).
std::string MissingMaps(const IdmapRequest& idmap) {
  std::string procDir = ProcDirOf(idmap.userns);
  if (procDir.empty()) return {};
  bool noUidMap = MapIsEmpty(procDir, "uid_map"), noGidMap = MapIsEmpty(procDir, "gid_map");
  if (!noUidMap && !noGidMap) return {};
  const char* missing = noUidMap && noGidMap ? "uid_map nor gid_map" : noUidMap ? "uid_map" : "gid_map";
  return "the user namespace of '" + idmap.userns + "' has no " + std::string(missing) +
         " written: an idmapped mount takes its mapping from them (write them first, or give uidMap and gidMap)";
}

// The kernel refuses two user namespaces that exist (EPERM and EINVAL,
// which read as "needs root" and "filesystem"): the initial one, whose
// identity mapping means "not idmapped", and one with no maps written. Asked
// only after a refusal: an ancestor of this process's namespace looks the
// same as the initial one to NS_GET_PARENT, and would have been taken.
std::string UserNamespaceFault(const IdmapRequest& idmap, int usernsFd, int refusal) {
  if (idmap.userns.empty()) return {};  // made here from maps lib/ checked
  UniqueFd parent(refusal == EPERM ? ::ioctl(usernsFd, NS_GET_PARENT) : -1);
  if (refusal == EPERM && !parent.valid() && errno == EPERM) {
    return "'" + idmap.userns + "' is the initial user namespace (or one this process is inside of), whose identity mapping cannot idmap a mount: "
           "give a user namespace with its own uid and gid maps";
  }
  return MissingMaps(idmap);
}

// Failure points (util/fault.h) for each step, named by where it runs.
struct IdmapFaults {
  const char* clone;
  const char* setattr;
};
constexpr IdmapFaults kDetachedFaults{"idmap.open_tree", "idmap.mount_setattr"};
constexpr IdmapFaults kAttachedFaults{"idmap-attached.open_tree", "idmap-attached.mount_setattr"};

Outcome<UniqueFd> IdmappedClone(const Layer& layer, int usernsFd, const std::string& imageType, IdmapFaults faults) {
  UniqueFd tree(sys::open_tree(layer.fd.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (int injected = FaultAt(faults.clone)) {
    tree.reset();
    errno = injected;
  }
  if (!tree.valid()) return SysError::FromErrno("open_tree", layer.path, layer.field());
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(usernsFd);
  int set = sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr);
  if (int injected = FaultAt(faults.setattr)) {
    set = -1;
    errno = injected;
  }
  if (set != 0) return IdmapRefused(layer, imageType);
  return tree;
}

std::string ImageTypeOf(const Layer& layer, const std::vector<ImageMount>& images) {
  return layer.image >= 0 && static_cast<size_t>(layer.image) < images.size() ? images[layer.image].info.type : std::string();
}

// A layer inside an image lies in a detached mount, which open_tree clones
// only from 6.15 (EINVAL on 6.12): that layer is idmapped later, in the
// private mount namespace where its image is attached (mount/engines/attached_layers.cc).
SysError IdmapAll(std::vector<Layer>* layers, int usernsFd, const std::vector<ImageMount>& images, bool* deferred) {
  for (Layer& layer : *layers) {
    auto clone = IdmappedClone(layer, usernsFd, ImageTypeOf(layer, images), kDetachedFaults);
    if (clone.error && clone.error.syscall == "open_tree" && clone.error.errnum == EINVAL && layer.image >= 0) {
      layer.idmapDeferred = *deferred = true;
      continue;
    }
    if (clone.error) return clone.error;
    layer.fd = std::move(clone.value);  // the detached tree lives as long as this fd
    layer.detached = true;
  }
  return {};
}

// mount_setattr's EPERM and EINVAL, when they come from the user namespace
// rather than the filesystem, say so naming idmap.userns.
SysError NameUserNamespaceFault(const IdmapRequest& idmap, int usernsFd, SysError e) {
  if (e && e.syscall == "mount_setattr" && (e.errnum == EPERM || e.errnum == EINVAL)) {
    std::string fault = UserNamespaceFault(idmap, usernsFd, e.errnum);
    if (!fault.empty()) {
      SysError named = SysError::Invalid("idmap.userns", idmap.userns, fault);
      named.syscall = e.syscall;
      return named;
    }
  }
  return e;
}

}  // namespace

Outcome<UniqueFd> OpenIdmapUserNamespace(const IdmapRequest& idmap) {
  if (!idmap.userns.empty()) return OpenUserNamespace(idmap.userns);
  return MakeUserNamespace(idmap.uidMap, idmap.gidMap);
}

SysError IdmapLowerLayers(const IdmapRequest& idmap, OpenedLayers* layers) {
  auto userns = OpenIdmapUserNamespace(idmap);
  if (userns.error) return userns.error;
  // 6.1 idmaps with a namespace that has no maps (every id then shows as
  // the overflow id); later kernels refuse it: refused here alike, before any clone.
  if (!idmap.userns.empty()) {
    std::string missing = MissingMaps(idmap);
    if (!missing.empty()) return SysError::Invalid("idmap.userns", idmap.userns, missing);
  }
  bool deferred = false;
  SysError e = IdmapAll(&layers->lower, userns.value.get(), layers->images, &deferred);
  if (!e) e = IdmapAll(&layers->data, userns.value.get(), layers->images, &deferred);
  if (e) return NameUserNamespaceFault(idmap, userns.value.get(), std::move(e));
  if (deferred) layers->deferredIdmap = DeferredIdmap{idmap, std::move(userns.value)};
  return {};
}

SysError IdmapAttachedImageLayer(const OpenedLayers& layers, Layer* layer) {
  const DeferredIdmap& idmap = layers.deferredIdmap;
  auto clone = IdmappedClone(*layer, idmap.userns.get(), ImageTypeOf(*layer, layers.images), kAttachedFaults);
  if (clone.error) return NameUserNamespaceFault(idmap.request, idmap.userns.get(), std::move(clone.error));
  layer->fd = std::move(clone.value);
  layer->idmapDeferred = false;
  return {};
}

}  // namespace ovl
