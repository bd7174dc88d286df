#include "idmap.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include <unistd.h>

#include <cerrno>

#include "util/sys.h"
#include "userns.h"

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
  std::string procDir = ProcDirOf(idmap.userns);
  if (procDir.empty()) return {};
  bool noUidMap = MapIsEmpty(procDir, "uid_map"), noGidMap = MapIsEmpty(procDir, "gid_map");
  if (!noUidMap && !noGidMap) return {};
  const char* missing = noUidMap && noGidMap ? "uid_map nor gid_map" : noUidMap ? "uid_map" : "gid_map";
  return "the user namespace of '" + idmap.userns + "' has no " + std::string(missing) +
         " written: an idmapped mount takes its mapping from them (write them first, or give uidMap and gidMap)";
}

Outcome<UniqueFd> IdmappedClone(const Layer& layer, int usernsFd) {
  UniqueFd tree(sys::open_tree(layer.fd.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!tree.valid()) {
    SysError e = SysError::FromErrno("open_tree", layer.path, layer.field());
    // A layer inside an image lies in a detached mount, which open_tree clones only from 6.15 (seen refused on 6.12).
    if (e.errnum == EINVAL && layer.image >= 0) e.reason = "this kernel cannot clone a layer inside an image to idmap it (a detached mount; Linux 6.15+)";
    return e;
  }
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
  SysError e = IdmapAll(&layers->lower, userns.value.get());
  if (!e) e = IdmapAll(&layers->data, userns.value.get());
  if (e && e.syscall == "mount_setattr" && (e.errnum == EPERM || e.errnum == EINVAL)) {
    std::string fault = UserNamespaceFault(idmap, userns.value.get(), e.errnum);
    if (!fault.empty()) {
      SysError named = SysError::Invalid("idmap.userns", idmap.userns, fault);
      named.syscall = e.syscall;
      return named;
    }
  }
  return e;
}

}  // namespace ovl
