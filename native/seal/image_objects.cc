// The image is mounted as an image layer is (images/image_layers.h: once,
// detached, from the file or through an auto-clearing loop device); the walk
// holds the mount's fd, so the image goes when the walk returns. An object's
// fs-verity digest is asked of the kernel (FS_IOC_MEASURE_VERITY), which
// reads it from the object's verity metadata without reading its data.
#include "seal/image_objects.h"

#include <fcntl.h>
#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "core/mount_request.h"
#include "images/image_layers.h"
#include "seal/dir_stream.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

constexpr const char* kRedirect = "trusted.overlay.redirect";
constexpr const char* kMetacopy = "trusted.overlay.metacopy";
constexpr size_t kMetacopyHeader = 4;  // version, length, flags, algorithm; the digest follows

// One regular file of the image with a redirect: its object ("xx/<62 hex>"),
// its path in the image, and its metacopy xattr's value.
using FileVisit = std::function<void(const std::string& object, const std::string& file, const std::string& metacopy)>;

// A regular file's xattr `name`, or "" when it has none.
std::string XattrOf(int fd, const char* name) {
  char value[512];
  ssize_t n = fgetxattr(fd, name, value, sizeof value);
  return n > 0 ? std::string(value, static_cast<size_t>(n)) : std::string();
}

SysError WalkDir(int dirfd, const std::string& at, const FileVisit& visit) {
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
      if (auto err = WalkDir(sub.get(), path, visit)) return err;
    } else if (e->d_type == DT_REG) {
      UniqueFd fd(openat(dirfd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
      if (!fd.valid()) continue;
      std::string redirect = XattrOf(fd.get(), kRedirect);
      if (redirect.size() < 2 || redirect[0] != '/') continue;
      visit(redirect.substr(1), path, XattrOf(fd.get(), kMetacopy));
    }
  }
  return {};
}

// Every file of `image` with a redirect visited; `field` names the image in an error.
SysError WalkImage(const std::string& image, const std::string& field, const FileVisit& visit) {
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
  if (auto e = WalkDir(root.get(), "/", visit)) {
    e.field = field;
    return e;
  }
  return {};
}

// The errno that keeps the kernel from giving `object`'s fs-verity digest, or 0 with `digest` filled.
int MeasureVerity(int storeFd, const std::string& object, std::string* digest) {
  UniqueFd fd(openat(storeFd, object.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return errno;
  // fsverity_digest ends in a flexible array: room for the largest digest follows it.
  alignas(fsverity_digest) uint8_t measured[sizeof(fsverity_digest) + 64] = {};
  auto* d = reinterpret_cast<fsverity_digest*>(measured);
  d->digest_size = 64;
  if (ioctl(fd.get(), FS_IOC_MEASURE_VERITY, measured) != 0) return errno;
  digest->assign(reinterpret_cast<const char*>(d->digest), d->digest_size);
  return 0;
}

}  // namespace

Outcome<std::vector<MissingObject>> MissingObjects(const std::string& image, const std::string& store, const std::string& field) {
  UniqueFd storeFd(open(store.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!storeFd.valid()) return NamedDirError("store", store);
  std::vector<MissingObject> missing;
  SysError e = WalkImage(image, field, [&](const std::string& object, const std::string& file, const std::string&) {
    struct stat st {};
    if (fstatat(storeFd.get(), object.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) missing.push_back({object, file});
  });
  if (e) return e;
  return missing;
}

Outcome<std::vector<UnverifiedObject>> UnverifiedObjects(const std::string& image, const std::string& store, const std::string& field) {
  UniqueFd storeFd(open(store.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!storeFd.valid()) return NamedDirError("store", store);
  std::vector<UnverifiedObject> unverified;
  SysError e = WalkImage(image, field, [&](const std::string& object, const std::string& file, const std::string& metacopy) {
    std::string digest;
    int errnum = MeasureVerity(storeFd.get(), object, &digest);
    // A metacopy without a digest names none to compare: only fs-verity being on is asked then.
    std::string wanted = metacopy.size() > kMetacopyHeader ? metacopy.substr(kMetacopyHeader) : std::string();
    if (errnum != 0 || (!wanted.empty() && digest != wanted)) unverified.push_back({object, file, errnum});
  });
  if (e) return e;
  return unverified;
}

}  // namespace ovl
