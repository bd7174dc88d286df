// The image is mounted as an image layer is (images/image_layers.h: once,
// detached, from the file or through an auto-clearing loop device); the walk
// holds the mount's fd, so the image goes when the walk returns.
#include "seal/image_objects.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "core/mount_request.h"
#include "images/image_layers.h"
#include "seal/dir_stream.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

constexpr const char* kRedirect = "trusted.overlay.redirect";

struct Walk {
  int store;
  std::vector<MissingObject>* missing;
};

// A regular file's redirect, or "" when it has none.
std::string RedirectOf(int dirfd, const char* name) {
  UniqueFd fd(openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return {};
  char value[512];
  ssize_t n = fgetxattr(fd.get(), kRedirect, value, sizeof value);
  return n > 0 ? std::string(value, static_cast<size_t>(n)) : std::string();
}

SysError WalkDir(int dirfd, const std::string& at, Walk& walk) {
  auto listing = OpenDirStream(dirfd, ".", at);
  if (listing.error) return listing.error;
  DIR* d = listing.value.get();
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = at == "/" ? "/" + name : at + "/" + name;
    if (e->d_type == DT_DIR) {
      UniqueFd sub(openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
      if (!sub.valid()) return SysError::FromErrno("open", path);
      if (auto err = WalkDir(sub.get(), path, walk)) return err;
    } else if (e->d_type == DT_REG) {
      std::string redirect = RedirectOf(dirfd, e->d_name);
      if (redirect.size() < 2 || redirect[0] != '/') continue;
      std::string object = redirect.substr(1);
      struct stat st {};
      if (fstatat(walk.store, object.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) walk.missing->push_back({object, path});
    }
  }
  return {};
}

}  // namespace

Outcome<std::vector<MissingObject>> MissingObjects(const std::string& image, const std::string& store, const std::string& field) {
  UniqueFd storeFd(open(store.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!storeFd.valid()) return SysError::FromErrno("open", store, "store");
  MountRequest request;
  request.lower = {image};
  request.lowerImages = {ImageSpec{image, "", "", ""}};
  std::vector<ImageMount> images;
  ImageSlots slots;
  if (auto e = MountImages(request, &images, &slots)) {
    e.field = field;
    return e;
  }
  UniqueFd root(openat(images[0].mount.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return SysError::FromErrno("open", image, field);
  std::vector<MissingObject> missing;
  Walk walk{storeFd.get(), &missing};
  if (auto e = WalkDir(root.get(), "/", walk)) {
    e.field = field;
    return e;
  }
  return missing;
}

}  // namespace ovl
