// Only names of the object form are measured: a store may hold other files
// (a seal's temporaries, a lock), which no image refers to.
#include "seal/store_verify.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "seal/dir_stream.h"
#include "images/fsverity_digest.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

bool IsHex(const char* s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return s[n] == '\0';
}

void CheckObject(int dirfd, const std::string& prefix, const char* name, const std::string& store, StoreReport& report) {
  std::string object = prefix + "/" + name;
  report.objects++;
  UniqueFd fd(openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  Outcome<VerityDigest> digest = fd.valid() ? FsverityDigestOfFd(fd.get(), store + "/" + object) : Outcome<VerityDigest>(SysError::FromErrno("open"));
  if (digest.error) {
    report.problems.push_back({object, digest.error.errnum, ""});
    return;
  }
  std::string hex = DigestHex(digest.value);
  if (hex != prefix + name) report.problems.push_back({object, 0, hex});
}

}  // namespace

Outcome<StoreReport> VerifyStore(const std::string& store) {
  StoreReport report;
  // The store itself may be reached through a symlink; nothing beneath it is followed.
  UniqueFd storeFd(open(store.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!storeFd.valid()) return NamedDirError("store", store);
  auto top = OpenDirStream(storeFd.get(), ".", store);
  if (top.error) return top.error;
  while (dirent* e = readdir(top.value.get())) {
    if (!IsHex(e->d_name, 2) || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)) continue;
    std::string prefix = e->d_name;
    auto sub = OpenDirStream(dirfd(top.value.get()), e->d_name, store + "/" + prefix);
    if (sub.error) {
      if (sub.error.errnum == ENOTDIR) continue;
      return sub.error;
    }
    int subfd = dirfd(sub.value.get());
    while (dirent* o = readdir(sub.value.get())) {
      if (!IsHex(o->d_name, 62)) continue;
      CheckObject(subfd, prefix, o->d_name, store, report);
    }
  }
  return report;
}

}  // namespace ovl
