// Builds two lower layers in a private temporary directory: the top one holds
// d/f as an xattr whiteout (d marked opaque "x"), the bottom one a real d/f.
// The overlay is made with fsmount and never attached anywhere: it is looked
// into through its fd and vanishes when that closes, and then the layers are
// removed. If d/f shows through, the kernel does not honour xattr whiteouts.
#include "probe_xattr_whiteout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "util/sys.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

// Removes the probe's tree (known, shallow) whatever happened.
class ProbeTree {
 public:
  ProbeTree() {
    char templ[] = "/tmp/overlay-native-xwhiteout-XXXXXX";
    if (::mkdtemp(templ) != nullptr) root_ = templ;
  }
  ProbeTree(const ProbeTree&) = delete;
  ProbeTree& operator=(const ProbeTree&) = delete;
  ~ProbeTree() {
    if (root_.empty()) return;
    for (const char* file : {"/top/d/f", "/bottom/d/f"}) ::unlink((root_ + file).c_str());
    for (const char* dir : {"/top/d", "/bottom/d", "/top", "/bottom", ""}) ::rmdir((root_ + dir).c_str());
  }
  bool ok() const { return !root_.empty(); }
  std::string path(const char* rel) const { return root_ + rel; }

 private:
  std::string root_;
};

bool MakeFile(const std::string& path, const char* content) {
  UniqueFd fd(::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd.valid()) return false;
  size_t len = std::char_traits<char>::length(content);
  return ::write(fd.get(), content, len) == static_cast<ssize_t>(len);
}

bool BuildLayers(const ProbeTree& tree) {
  for (const char* dir : {"/top", "/top/d", "/bottom", "/bottom/d"}) {
    if (::mkdir(tree.path(dir).c_str(), 0700) != 0) return false;
  }
  return MakeFile(tree.path("/bottom/d/f"), "lower") && MakeFile(tree.path("/top/d/f"), "") &&
         ::setxattr(tree.path("/top/d/f").c_str(), "trusted.overlay.whiteout", "", 0, 0) == 0 &&
         ::setxattr(tree.path("/top/d").c_str(), "trusted.overlay.opaque", "x", 1, 0) == 0;
}

Tristate Probe() {
  ProbeTree tree;
  if (!tree.ok() || !BuildLayers(tree)) return Tristate::Unknown;
  std::string lowerdir = tree.path("/top") + ":" + tree.path("/bottom");
  if (lowerdir.find_first_of(",\\") != std::string::npos) return Tristate::Unknown;  // /tmp is literal, but be sure
  UniqueFd fs(sys::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs.valid()) return Tristate::Unknown;
  if (sys::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir", lowerdir.c_str(), 0) != 0) return Tristate::Unknown;
  if (sys::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return Tristate::Unknown;
  UniqueFd mnt(sys::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY));
  if (!mnt.valid()) return Tristate::Unknown;
  struct stat st {};
  if (::fstatat(mnt.get(), "d", &st, AT_SYMLINK_NOFOLLOW) != 0) return Tristate::Unknown;  // the overlay itself is broken
  if (::fstatat(mnt.get(), "d/f", &st, AT_SYMLINK_NOFOLLOW) == 0) return Tristate::No;
  return errno == ENOENT ? Tristate::Yes : Tristate::Unknown;
}

}  // namespace

Tristate ProbeXattrWhiteouts() {
  static std::once_flag once;
  static Tristate answer = Tristate::Unknown;
  std::call_once(once, [] { answer = Probe(); });
  return answer;
}

}  // namespace ovl
