// The temporary is named `.seal-*` inside the object's `xx/` directory, a
// name no object has (verify measures only `xx/<62 hex>`), so a seal killed
// while writing leaves no half object. fs-verity is asked for with
// FS_IOC_ENABLE_VERITY on a read-only fd, as the kernel wants it; a kernel or
// filesystem without it answers ENOTTY or EOPNOTSUPP, which is no error.
#include "seal/store_object.h"

#include <fcntl.h>
#include <linux/fsverity.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "util/unique_fd.h"

namespace ovl {
namespace {

bool VerityUnsupported(int errnum) { return errnum == ENOTTY || errnum == EOPNOTSUPP || errnum == EEXIST; }

// fs-verity on `path`, closed for writing; already enabled or unsupported is fine.
SysError EnableVerity(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return SysError::FromErrno("open", path, "store");
  fsverity_enable_arg arg{};
  arg.version = 1;
  arg.hash_algorithm = FS_VERITY_HASH_ALG_SHA256;
  arg.block_size = 4096;
  if (ioctl(fd.get(), FS_IOC_ENABLE_VERITY, &arg) == 0 || VerityUnsupported(errno)) return {};
  return SysError::FromErrno("ioctl FS_IOC_ENABLE_VERITY", path, "store");
}

// All of `from` into `to`: copy_file_range (a reflink where the filesystem can), read/write where it cannot.
SysError CopyContent(int from, int to, const std::string& fromPath, const std::string& toPath) {
  off_t in = 0;
  for (;;) {
    ssize_t n = copy_file_range(from, &in, to, nullptr, 1 << 30, 0);
    if (n > 0) continue;
    if (n == 0) return {};
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return SysError::FromErrno("copy_file_range", toPath, "store");
    break;
  }
  std::vector<char> buffer(1 << 20);
  for (;;) {
    ssize_t n = pread(from, buffer.data(), buffer.size(), in);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError::FromErrno("read", fromPath, "source");
    if (n == 0) return {};
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(to, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return SysError::FromErrno("write", toPath, "store");
      done += w;
    }
    in += n;
  }
}

// The content in a new temporary `STORE/xx/.seal-XXXXXX`, closed; its name, or the error (and no temporary).
Outcome<std::string> WriteTemporary(int storeFd, const std::string& store, const std::string& object, int source, const std::string& sourcePath) {
  std::string dir = object.substr(0, 2);
  if (mkdirat(storeFd, dir.c_str(), 0755) != 0 && errno != EEXIST) return SysError::FromErrno("mkdir", store + "/" + dir, "store");
  std::string temp = store + "/" + dir + "/.seal-XXXXXX";
  UniqueFd out(mkostemp(&temp[0], O_CLOEXEC));
  if (!out.valid()) return SysError::FromErrno("open", temp, "store");
  SysError e = CopyContent(source, out.get(), sourcePath, temp);
  if (!e && fchmod(out.get(), 0644) != 0) e = SysError::FromErrno("fchmod", temp, "store");
  if (!e && close(out.release()) != 0) e = SysError::FromErrno("close", temp, "store");
  if (e) {
    unlink(temp.c_str());
    return e;
  }
  return temp;
}

}  // namespace

std::string ObjectName(const VerityDigest& digest) {
  std::string hex = DigestHex(digest);
  return hex.substr(0, 2) + "/" + hex.substr(2);
}

Outcome<StoredObject> StoreObject(int storeFd, const std::string& store, int source, const std::string& sourcePath, const std::set<std::string>& pending) {
  auto digest = FsverityDigestOfFd(source, sourcePath);
  if (digest.error) {
    digest.error.field = "source";
    return digest.error;
  }
  StoredObject stored;
  stored.digest = digest.value;
  std::string object = ObjectName(digest.value);
  if (pending.count(object)) return stored;
  struct stat st {};
  if (fstatat(storeFd, object.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
    if (auto e = EnableVerity(store + "/" + object)) return e;
    return stored;
  }
  auto temp = WriteTemporary(storeFd, store, object, source, sourcePath);
  if (temp.error) return temp.error;
  stored.temp = temp.value;
  return stored;
}

SysError PublishObjects(int storeFd, const std::string& store, const std::vector<StoredObject>& pending) {
  size_t renamed = 0;
  auto fail = [&](SysError e) {
    for (size_t i = renamed; i < pending.size(); i++) unlink(pending[i].temp.c_str());
    return e;
  };
  if (pending.empty()) return {};
  if (syncfs(storeFd) != 0) return fail(SysError::FromErrno("syncfs", store, "store"));
  for (; renamed < pending.size(); renamed++) {
    const std::string& temp = pending[renamed].temp;
    if (auto e = EnableVerity(temp)) return fail(e);
    std::string final = store + "/" + ObjectName(pending[renamed].digest);
    if (renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final.c_str(), RENAME_NOREPLACE) == 0) continue;
    // Another seal published the same object first: it holds the same bytes.
    if (errno != EEXIST) return fail(SysError::FromErrno("rename", final, "store"));
    unlink(temp.c_str());
  }
  if (syncfs(storeFd) != 0) return SysError::FromErrno("syncfs", store, "store");
  return {};
}

void DropObjects(const std::vector<StoredObject>& pending) {
  for (const StoredObject& o : pending) unlink(o.temp.c_str());
}

}  // namespace ovl
