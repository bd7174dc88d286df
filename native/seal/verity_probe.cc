// The first object found speaks for the store's filesystem: it either has
// fs-verity or not (an object left without it shows here as ENODATA, which
// says the filesystem has it; each image's own objects are asked apart,
// seal/image_objects.h).
#include "seal/verity_probe.h"

#include <fcntl.h>
#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "seal/dir_stream.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

bool IsHexName(const char* s, size_t n) {
  if (std::strlen(s) != n) return false;
  for (size_t i = 0; i < n; i++) {
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  }
  return true;
}

// The first name of the object form in `dirfd`'s listing, or "".
std::string FirstName(int dirfd, size_t length) {
  auto listing = OpenDirStream(dirfd, ".", "");
  if (listing.error) return {};
  while (dirent* e = readdir(listing.value.get())) {
    if (IsHexName(e->d_name, length)) return e->d_name;
  }
  return {};
}

}  // namespace

Outcome<VerityProbe> ProbeStoreVerity(const std::string& store) {
  UniqueFd dir(open(store.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return SysError::FromErrno("open", store);
  VerityProbe probe;
  struct statfs st {};
  if (fstatfs(dir.get(), &st) != 0) return SysError::FromErrno("statfs", store);
  probe.fsType = static_cast<long>(st.f_type);
  std::string prefix = FirstName(dir.get(), 2);
  UniqueFd sub(prefix.empty() ? -1 : openat(dir.get(), prefix.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  std::string name = sub.valid() ? FirstName(sub.get(), 62) : std::string();
  UniqueFd file;
  if (!name.empty()) {
    probe.object = prefix + "/" + name;
    file.reset(openat(sub.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!file.valid()) return SysError::FromErrno("open", store + "/" + probe.object);
  }
  // With no object, the store's own directory answers for its filesystem.
  // fsverity_digest ends in a flexible array: room for the largest digest follows it.
  alignas(fsverity_digest) uint8_t measured[sizeof(fsverity_digest) + 64] = {};
  reinterpret_cast<fsverity_digest*>(measured)->digest_size = 64;
  int rc = ioctl(file.valid() ? file.get() : dir.get(), FS_IOC_MEASURE_VERITY, measured);
  probe.errnum = rc == 0 ? 0 : errno;
  return probe;
}

}  // namespace ovl
