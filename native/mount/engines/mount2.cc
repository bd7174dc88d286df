// mount(2): one data string of at most one page, which the kernel cuts off
// silently past that. We escape paths, and when real paths do not fit we
// fall back to shorter names for the same opened directories.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "mount/engines/mount2.h"
#include "inspect/mount_root.h"
#include "mount/propagation.h"
#include "util/fault.h"
#include "util/own_thread.h"

namespace ovl {
namespace {

// The legacy parser splits options on ',' and layers on ':', and drops a
// backslash before any character; so escape exactly those three.
std::string Escape(const std::string& path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '\\' || c == ',' || c == ':') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string NameFor(const Layer& layer, Mechanism mechanism) {
  switch (mechanism) {
    case Mechanism::MountFdPath: return FdPath(layer.fd.get());
    case Mechanism::MountFdRelative: return std::to_string(layer.fd.get());  // cwd is /proc/self/fd
    default: return Escape(layer.path);
  }
}

std::string BuildMountData(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism) {
  std::string data = "lowerdir=";
  for (size_t i = 0; i < layers.lower.size(); i++) {
    if (i > 0) data += ':';
    data += NameFor(layers.lower[i], mechanism);
  }
  for (const Layer& layer : layers.data) data += "::" + NameFor(layer, mechanism);
  if (layers.hasUpper) {
    data += ",upperdir=" + NameFor(layers.upper, mechanism);
    data += ",workdir=" + NameFor(layers.work, mechanism);
  }
  for (const MountOption& option : request.options) {
    data += ',' + option.key;
    if (option.flag) continue;
    // Only an LSM label holds ',' (s0:c1,c2): quoted as mount(8) and Podman write it, the LSM
    // takes it whole before the data is split (selinux_sb_eat_lsm_opts). lib refuses a '"' in it.
    bool quote = option.value.find(',') != std::string::npos;
    data += quote ? "=\"" + option.value + '"' : '=' + option.value;
  }
  return data;
}

// chdir changes the cwd of every thread that shares it, so this runs in a
// thread of its own that first stops sharing (unshare(CLONE_FS)) and then
// exits: Node's threads keep their cwd.
SysError MountFromFdDirectory(const std::string& target, const std::string& data, unsigned long flags, const std::string& path) {
  return RunInOwnThread("mechanism", [&]() -> SysError {
    if (::unshare(CLONE_FS) != 0) return SysError::FromErrno("unshare", path, "mechanism");
    if (::chdir("/proc/self/fd") != 0) return SysError::FromErrno("chdir", "/proc/self/fd", "mechanism");
    if (::mount("overlay", target.c_str(), "overlay", flags, data.c_str()) != 0) return SysError::FromErrno("mount", path);
    return {};
  });
}

}  // namespace

Outcome<std::string> MountData(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism) {
  std::string data = BuildMountData(request, layers, mechanism);
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (data.size() + 1 <= page) return data;
  return SysError::Invalid("lower", request.target,
                           "the mount(2) options take " + std::to_string(data.size() + 1) + " bytes with " + MechanismName(mechanism) +
                               " names, over the one page (" + std::to_string(page) + " bytes) the kernel reads",
                           E2BIG);
}

Outcome<MountResult> MountWithMount2(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism, const std::string& data) {
  // Mount on the directory we opened and checked, not on a path that could have changed since.
  std::string target = mechanism == Mechanism::MountFdRelative ? std::to_string(layers.target.fd.get()) : FdPath(layers.target.fd.get());
  unsigned long flags = ToKernelBits(request.flags).msSet;
  if (mechanism == Mechanism::MountFdRelative) {
    if (auto e = MountFromFdDirectory(target, data, flags, request.target)) return e;
  } else if (::mount("overlay", target.c_str(), "overlay", flags, data.c_str()) != 0) {
    return SysError::FromErrno("mount", request.target);
  }
  // mount(2) gives no fd of the new mount: its root is opened by path. Whatever
  // fails from here unmounts it again, so an error never leaves it in place.
  int openFault = FaultAt("mount2.open-root");
  UniqueFd root(openFault == 0 ? ::open(request.target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC) : (errno = openFault, -1));
  SysError openError = root.valid() ? SysError{} : SysError::FromErrno("open", request.target, "target");
  if (request.propagation != Propagation::Keep) {
    SysError e = root.valid() ? SetPropagation(root.get(), request.propagation, request.target) : openError;
    if (int injected = FaultAt("mount2.propagation")) e = SysError::Invalid("propagation", request.target, "injected failure", injected);
    if (e) {
      if (root.valid()) {
        DetachOwnMount(request.target, root.get());
      } else {
        // umount2 through the opened target directory acts on the mount on top of it: the one just made.
        ::umount2(FdPath(layers.target.fd.get()).c_str(), MNT_DETACH);
      }
      return e;
    }
  }
  return MountResultFor(mechanism, root.get(), {});
}

}  // namespace ovl
