// mount(2): one data string of at most one page, which the kernel cuts off
// silently past that. We escape paths, and when real paths do not fit we
// fall back to shorter names for the same opened directories.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "mount_engines.h"
#include "mount_identity.h"
#include "mount_root.h"
#include "propagation.h"

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

std::string BuildData(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism) {
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
    if (!option.flag) data += '=' + option.value;
  }
  return data;
}

unsigned long MountFlags(const MountRequest& r) {
  unsigned long flags = 0;
  if (r.readOnly) flags |= MS_RDONLY;
  if (r.nosuid) flags |= MS_NOSUID;
  if (r.nodev) flags |= MS_NODEV;
  if (r.noexec) flags |= MS_NOEXEC;
  if (r.atime == "noatime") flags |= MS_NOATIME;
  if (r.atime == "strictatime") flags |= MS_STRICTATIME;
  if (r.atime == "relatime") flags |= MS_RELATIME;
  return flags;
}

// chdir changes the cwd of every thread that shares it, so this runs in a
// thread of its own that first stops sharing (unshare(CLONE_FS)) and then
// exits: Node's threads keep their cwd.
int MountFromFdDirectory(const std::string& target, const std::string& data, unsigned long flags) {
  int result = 0;
  std::thread worker([&] {
    if (::unshare(CLONE_FS) != 0 || ::chdir("/proc/self/fd") != 0) {
      result = errno;
      return;
    }
    result = ::mount("overlay", target.c_str(), "overlay", flags, data.c_str()) == 0 ? 0 : errno;
  });
  worker.join();
  return result;
}

}  // namespace

Outcome<MountResult> MountWithMount2(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism) {
  std::string data = BuildData(request, layers, mechanism);
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (data.size() + 1 > page) {
    return SysError::Invalid("lower", request.target,
                             "the mount(2) options take " + std::to_string(data.size() + 1) + " bytes with " + MechanismName(mechanism) +
                                 " names, over the one page (" + std::to_string(page) + " bytes) the kernel reads",
                             E2BIG);
  }
  // Mount on the directory we opened and checked, not on a path that could have changed since.
  std::string target = mechanism == Mechanism::MountFdRelative ? std::to_string(layers.target.fd.get()) : FdPath(layers.target.fd.get());
  unsigned long flags = MountFlags(request);
  int err = mechanism == Mechanism::MountFdRelative ? MountFromFdDirectory(target, data, flags)
                                                    : (::mount("overlay", target.c_str(), "overlay", flags, data.c_str()) == 0 ? 0 : errno);
  if (err != 0) {
    errno = err;
    return SysError::FromErrno("mount", request.target);
  }
  MountResult result;
  result.mechanism = mechanism;
  UniqueFd root(::open(request.target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.valid()) {
    result.mountId = MountIdOf(root.get());
    result.uniqueMountId = UniqueMountIdOf(root.get());
  }
  if (!request.propagation.empty()) {
    if (!root.valid()) return SysError::FromErrno("open", request.target, "target");
    if (auto e = SetPropagation(root.get(), request.propagation, request.target)) {
      DetachOwnMount(request.target, root.get());
      return e;
    }
  }
  return result;
}

bool FitsOnePage(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism) {
  return BuildData(request, layers, mechanism).size() + 1 <= static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace ovl
