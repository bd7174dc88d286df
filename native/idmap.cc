#include "idmap.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include <cerrno>

#include "util/sys.h"
#include "userns.h"

#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
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

// What mount_setattr's EINVAL means here: the layer's filesystem cannot be idmapped.
SysError IdmapRefused(const Layer& layer) {
  SysError e = SysError::FromErrno("mount_setattr", layer.path, layer.field());
  if (e.errnum == EINVAL) {
    e.reason = "the filesystem of '" + layer.path +
               "' cannot be idmapped (ext4, xfs, btrfs: 5.12+; tmpfs: 6.3+; some, such as 9p, never)";
  } else if (e.errnum == ENOSYS) {
    e.reason = "idmapped mounts need mount_setattr (Linux 5.12+)";
  }
  return e;
}

Outcome<UniqueFd> IdmappedClone(const Layer& layer, int usernsFd) {
  UniqueFd tree(sys::open_tree(layer.fd.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!tree.valid()) return SysError::FromErrno("open_tree", layer.path, layer.field());
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(usernsFd);
  if (sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr) != 0) return IdmapRefused(layer);
  return tree;
}

SysError IdmapAll(std::vector<Layer>* layers, int usernsFd) {
  for (Layer& layer : *layers) {
    auto clone = IdmappedClone(layer, usernsFd);
    if (clone.error) return clone.error;
    layer.fd = std::move(clone.value);  // the detached tree lives as long as this fd
    layer.detached = true;
  }
  return {};
}

}  // namespace

Outcome<UniqueFd> OpenIdmapUserNamespace(const IdmapRequest& idmap) {
  if (!idmap.userns.empty()) return OpenUserNamespace(idmap.userns);
  return MakeUserNamespace(idmap.uidMap, idmap.gidMap);
}

SysError IdmapLowerLayers(const IdmapRequest& idmap, OpenedLayers* layers) {
  auto userns = OpenIdmapUserNamespace(idmap);
  if (userns.error) return userns.error;
  if (auto e = IdmapAll(&layers->lower, userns.value.get())) return e;
  return IdmapAll(&layers->data, userns.value.get());
}

}  // namespace ovl
