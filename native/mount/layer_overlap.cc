#include "mount/layer_overlap.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <unordered_map>
#include <vector>

namespace ovl {
namespace {

struct Named {
  const Layer* layer;
  std::string real;  // the opened directory's path, as the kernel names it now
  bool isLower;      // lower or data: the layers the kernel checks against the others
};

// One readlink per layer: the opened directory's own path, so a symlink or
// a '..' in what the caller wrote cannot hide that two layers are one.
bool RealPath(int fd, std::string* out) {
  char buf[PATH_MAX + 1];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, PATH_MAX);
  if (n <= 0 || buf[0] != '/') return false;  // no /proc, or not reachable from our root
  out->assign(buf, static_cast<size_t>(n));
  return true;
}

// The kernel compares within one filesystem: a path prefix on another one is no overlap.
bool SameFilesystem(const Layer& a, const Layer& b) {
  struct stat sa, sb;
  return ::fstat(a.fd.get(), &sa) == 0 && ::fstat(b.fd.get(), &sb) == 0 && sa.st_dev == sb.st_dev;
}

SysError Overlap(const Named& inner, const Named& outer, const char* how) {
  return SysError::Invalid(inner.layer->field(), inner.layer->path,
                           std::string(how) + " " + outer.layer->field() + " ('" + outer.layer->path + "'); overlay refuses overlapping layers", ELOOP);
}

}  // namespace

SysError CheckLayerOverlap(const OpenedLayers& layers) {
  std::vector<Named> all;
  auto add = [&all](const Layer& layer, bool isLower) {
    std::string real;
    if (RealPath(layer.fd.get(), &real)) all.push_back({&layer, std::move(real), isLower});
  };
  for (const auto& l : layers.lower) add(l, true);
  for (const auto& l : layers.data) add(l, true);
  if (layers.hasUpper) {
    add(layers.upper, false);
    add(layers.work, false);
  }
  std::unordered_map<std::string, size_t> byPath;
  for (size_t i = 0; i < all.size(); i++) {
    auto [at, fresh] = byPath.emplace(all[i].real, i);
    if (fresh) continue;
    // The same directory twice, one of them a lower: the later lower is named.
    const Named& first = all[at->second];
    const Named& at_fault = all[i].isLower ? all[i] : first;
    const Named& other = all[i].isLower ? first : all[i];
    if (at_fault.isLower && SameFilesystem(*first.layer, *all[i].layer)) return Overlap(at_fault, other, "is the same directory as");
  }
  // A lower inside any other layer (a lower holding another lower is that
  // lower inside it); the kernel lets an upper or work lie inside a lower.
  for (const auto& inner : all) {
    if (!inner.isLower || inner.real == "/") continue;
    for (size_t slash = inner.real.rfind('/');; slash = inner.real.rfind('/', slash - 1)) {
      auto outer = byPath.find(slash == 0 ? std::string("/") : inner.real.substr(0, slash));
      if (outer != byPath.end() && SameFilesystem(*inner.layer, *all[outer->second].layer)) {
        return Overlap(inner, all[outer->second], "lies inside");
      }
      if (slash == 0) break;
    }
  }
  return {};
}

}  // namespace ovl
