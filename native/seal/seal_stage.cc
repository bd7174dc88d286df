// Each entry is made owner first, then mode (a chown clears set-id bits),
// then xattrs (a chown clears security.capability), then times, a
// directory's after its children. Xattrs go by path with the l* calls, the
// one form that reaches a symlink's own. Names are copied as bytes.
#include "seal/seal_stage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "seal/dir_stream.h"
#include "seal/store_object.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

constexpr const char kOverlayPrefix[] = "trusted.overlay.";
constexpr const char kAclPrefix[] = "system.posix_acl_";

// overlay's metacopy xattr with a digest: version 0, its length (36), flags 0, algorithm 1 (sha256), the digest.
std::string MetacopyValue(const VerityDigest& digest) {
  std::string value{'\0', '\x24', '\0', '\x01'};
  value.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return value;
}

// A directory the caller named that cannot be opened, said with the field it came from.
SysError NamedDirError(const char* field, const std::string& path) {
  SysError e = SysError::FromErrno("open", path, field);
  if (e.errnum == ENOENT) return SysError::Invalid(field, path, "'" + path + "' does not exist", ENOENT);
  if (e.errnum == ENOTDIR) return SysError::Invalid(field, path, "'" + path + "' is not a directory", ENOTDIR);
  return e;
}

class Stager {
 public:
  Stager(std::string source, std::string store, std::string staging) : source_(std::move(source)), store_(std::move(store)), staging_(std::move(staging)) {}

  Outcome<StageCounts> Run() {
    UniqueFd src(open(source_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!src.valid()) return NamedDirError("source", source_);
    store_fd_.reset(open(store_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!store_fd_.valid()) return NamedDirError("store", store_);
    if (mkdir(staging_.c_str(), 0700) != 0) return SysError::FromErrno("mkdir", staging_, "image");
    UniqueFd dst(open(staging_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dst.valid()) return SysError::FromErrno("open", staging_, "image");
    if (auto e = NoteSkipped(dst.get(), staging_, "image")) return e;
    if (auto e = NoteSkipped(store_fd_.get(), store_, "store")) return e;
    struct stat st {};
    if (fstat(src.get(), &st) != 0) return SysError::FromErrno("stat", source_, "source");
    SysError e = FillDir(src.get(), dst.get(), "");
    if (!e) e = Finish(dst.get(), nullptr, st, "");
    if (e) {
      DropObjects(pending_);
      return e;
    }
    if (auto published = PublishObjects(store_fd_.get(), store_, pending_)) return published;
    return counts_;
  }

 private:
  SysError SourceError(const char* call, const std::string& rel) const { return SysError::FromErrno(call, source_ + rel, "source"); }
  SysError StagingError(const char* call, const std::string& rel) const { return SysError::FromErrno(call, staging_ + rel, "image"); }

  // The staging tree and the store are never sealed into the image, should they lie inside SRC.
  SysError NoteSkipped(int fd, const std::string& path, const char* field) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return SysError::FromErrno("stat", path, field);
    skipped_.push_back({st.st_dev, st.st_ino});
    return {};
  }

  SysError FillDir(int src, int dst, const std::string& rel) {
    auto listing = OpenDirStream(src, ".", source_ + rel);
    if (listing.error) {
      listing.error.field = "source";
      return listing.error;
    }
    while (dirent* e = readdir(listing.value.get())) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      if (auto err = StageEntry(src, dst, e->d_name, rel + "/" + e->d_name)) return err;
    }
    return {};
  }

  SysError StageEntry(int src, int dst, const char* name, const std::string& rel) {
    struct stat st {};
    if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return SourceError("lstat", rel);
    for (const auto& skip : skipped_) {
      if (S_ISDIR(st.st_mode) && skip.first == st.st_dev && skip.second == st.st_ino) return {};
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto seen = links_.find({st.st_dev, st.st_ino});
      if (seen != links_.end()) {
        if (linkat(AT_FDCWD, (staging_ + seen->second).c_str(), dst, name, 0) != 0) return StagingError("link", rel);
        return {};
      }
      links_[{st.st_dev, st.st_ino}] = rel;
    }
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst, name, 0700) != 0) return StagingError("mkdir", rel);
      UniqueFd from(openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!from.valid()) return SourceError("open", rel);
      UniqueFd to(openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!to.valid()) return StagingError("open", rel);
      if (auto e = FillDir(from.get(), to.get(), rel)) return e;
    } else if (S_ISREG(st.st_mode)) {
      if (auto e = StageFile(src, dst, name, rel, st)) return e;
    } else if (S_ISLNK(st.st_mode)) {
      std::vector<char> target(static_cast<size_t>(st.st_size) + 1);
      ssize_t n = readlinkat(src, name, target.data(), target.size());
      if (n < 0) return SourceError("readlink", rel);
      if (symlinkat(std::string(target.data(), static_cast<size_t>(n)).c_str(), dst, name) != 0) return StagingError("symlink", rel);
    } else if (mknodat(dst, name, st.st_mode & S_IFMT, st.st_rdev) != 0) {
      return StagingError("mknod", rel);
    }
    return Finish(dst, name, st, rel);
  }

  // A regular file: its content into the store, an empty file of its size here.
  // The source must hold still while it is sealed: its size is taken from the open file, its content read twice (digest, copy).
  SysError StageFile(int src, int dst, const char* name, const std::string& rel, const struct stat& listed) {
    UniqueFd to(openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!to.valid()) return StagingError("open", rel);
    if (listed.st_size == 0) return {};
    UniqueFd from(openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!from.valid()) return SourceError("open", rel);
    struct stat st {};
    if (fstat(from.get(), &st) != 0) return SourceError("stat", rel);
    auto stored = StoreObject(store_fd_.get(), store_, from.get(), source_ + rel, pendingNames_);
    if (stored.error) return stored.error;
    counts_.files++;
    if (!stored.value.temp.empty()) {
      counts_.added++;
      counts_.addedBytes += static_cast<uint64_t>(st.st_size);
      pendingNames_.insert(ObjectName(stored.value.digest));
      pending_.push_back(stored.value);
    }
    if (ftruncate(to.get(), st.st_size) != 0) return StagingError("ftruncate", rel);
    std::string redirect = "/" + ObjectName(stored.value.digest);
    std::string metacopy = MetacopyValue(stored.value.digest);
    if (fsetxattr(to.get(), "trusted.overlay.redirect", redirect.data(), redirect.size(), 0) != 0) return StagingError("setxattr", rel);
    if (fsetxattr(to.get(), "trusted.overlay.metacopy", metacopy.data(), metacopy.size(), 0) != 0) return StagingError("setxattr", rel);
    return {};
  }

  // name null: the directory open at `dir` itself.
  SysError Finish(int dir, const char* name, const struct stat& st, const std::string& rel) {
    const char* at = name ? name : "";
    int flags = name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
    if (fchownat(dir, at, st.st_uid, st.st_gid, flags) != 0) return StagingError("chown", rel);
    if (!S_ISLNK(st.st_mode) && fchmodat(dir, name ? name : ".", st.st_mode & 07777, 0) != 0) return StagingError("chmod", rel);
    if (auto e = KeepXattrs(rel)) return e;
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (utimensat(dir, name ? name : ".", times, AT_SYMLINK_NOFOLLOW) != 0) return StagingError("utimensat", rel);
    return {};
  }

  // The names `llistxattr` gives for `path`, NUL-separated.
  Outcome<std::string> XattrNames(const std::string& path, const std::string& rel) {
    for (;;) {
      ssize_t size = llistxattr(path.c_str(), nullptr, 0);
      if (size < 0) return errno == EOPNOTSUPP ? Outcome<std::string>(std::string()) : Outcome<std::string>(SourceError("llistxattr", rel));
      std::string names(static_cast<size_t>(size), '\0');
      ssize_t got = llistxattr(path.c_str(), &names[0], names.size());
      if (got >= 0) return names.substr(0, static_cast<size_t>(got));
      if (errno != ERANGE) return SourceError("llistxattr", rel);
    }
  }

  SysError KeepXattrs(const std::string& rel) {
    std::string from = source_ + rel, to = staging_ + rel;
    auto names = XattrNames(from, rel);
    if (names.error) return names.error;
    for (size_t at = 0; at < names.value.size(); at += std::strlen(names.value.c_str() + at) + 1) {
      const char* xattr = names.value.c_str() + at;
      if (std::strncmp(xattr, kOverlayPrefix, sizeof kOverlayPrefix - 1) == 0) continue;
      if (std::strncmp(xattr, kAclPrefix, sizeof kAclPrefix - 1) == 0) counts_.acl = true;
      std::vector<char> value(65536);
      ssize_t n = lgetxattr(from.c_str(), xattr, value.data(), value.size());
      if (n < 0) return SourceError("lgetxattr", rel);
      if (lsetxattr(to.c_str(), xattr, value.data(), static_cast<size_t>(n), 0) != 0) return StagingError("lsetxattr", rel);
    }
    return {};
  }

  std::string source_, store_, staging_;
  UniqueFd store_fd_;
  StageCounts counts_;
  std::vector<StoredObject> pending_;   // objects written to temporaries, published once the tree is staged
  std::set<std::string> pendingNames_;  // their names
  std::vector<std::pair<dev_t, ino_t>> skipped_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // a hard-linked entry's first path, relative
};

}  // namespace

Outcome<StageCounts> StageTree(const std::string& source, const std::string& store, const std::string& staging) {
  return Stager(source, store, staging).Run();
}

}  // namespace ovl
