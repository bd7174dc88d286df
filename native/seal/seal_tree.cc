// Xattrs are read by path with the l* calls, the one form that reaches a
// symlink's own. Names are kept as bytes.
#include "seal/seal_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "seal/dir_stream.h"
#include "seal/erofs_xattrs.h"
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

// The kernel's new_encode_dev, which EROFS stores in i_u.rdev.
uint32_t EncodeDev(dev_t dev) {
  uint32_t ma = major(dev), mi = minor(dev);
  return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

class Collector {
 public:
  Collector(std::string source, std::string store, std::string skip) : source_(std::move(source)), store_(std::move(store)), skip_(std::move(skip)) {}

  Outcome<SealTree> Run() {
    UniqueFd src(open(source_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!src.valid()) return NamedDirError("source", source_);
    store_fd_.reset(open(store_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!store_fd_.valid()) return NamedDirError("store", store_);
    if (auto e = NoteSkipped(store_fd_.get(), store_, "store")) return e;
    UniqueFd skip(open(skip_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!skip.valid()) return SysError::FromErrno("open", skip_, "image");
    if (auto e = NoteSkipped(skip.get(), skip_, "image")) return e;
    struct stat st {};
    if (fstat(src.get(), &st) != 0) return SysError::FromErrno("stat", source_, "source");
    tree_.entries.emplace_back();
    SysError e = FillDir(src.get(), 0, "");
    if (!e) e = Describe(0, st, "");
    if (e) {
      DropObjects(tree_.pending);
      return e;
    }
    tree_.storeFd = std::move(store_fd_);
    return std::move(tree_);
  }

 private:
  SysError SourceError(const char* call, const std::string& rel) const { return SysError::FromErrno(call, source_ + rel, "source"); }

  SysError NoteSkipped(int fd, const std::string& path, const char* field) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return SysError::FromErrno("stat", path, field);
    skipped_.push_back({st.st_dev, st.st_ino});
    return {};
  }

  // The entries beneath the directory open at `fd`, as children of entry `dir`, sorted by name bytes.
  SysError FillDir(int fd, uint32_t dir, const std::string& rel) {
    auto listing = OpenDirStream(fd, ".", source_ + rel);
    if (listing.error) {
      listing.error.field = "source";
      return listing.error;
    }
    tree_.entries[dir].links = 2;
    for (;;) {
      errno = 0;
      dirent* e = readdir(listing.value.get());
      if (!e) {
        if (errno != 0) return SourceError("readdir", rel);
        break;
      }
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      if (auto err = AddEntry(fd, dir, e->d_name, rel + "/" + e->d_name)) return err;
    }
    auto& children = tree_.entries[dir].children;
    std::sort(children.begin(), children.end());
    return {};
  }

  SysError AddEntry(int fd, uint32_t dir, const char* name, const std::string& rel) {
    struct stat st {};
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return SourceError("lstat", rel);
    for (const auto& skip : skipped_) {
      if (S_ISDIR(st.st_mode) && skip.first == st.st_dev && skip.second == st.st_ino) return {};
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto seen = links_.find({st.st_dev, st.st_ino});
      if (seen != links_.end()) {
        tree_.entries[seen->second].links++;
        tree_.entries[dir].children.emplace_back(name, seen->second);
        return {};
      }
      links_[{st.st_dev, st.st_ino}] = static_cast<uint32_t>(tree_.entries.size());
    }
    auto index = static_cast<uint32_t>(tree_.entries.size());
    tree_.entries.emplace_back();
    tree_.entries[index].links = 1;
    tree_.entries[dir].children.emplace_back(name, index);
    XattrList extra;
    if (S_ISDIR(st.st_mode)) {
      tree_.entries[dir].links++;
      UniqueFd sub(openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) return SourceError("open", rel);
      if (auto e = FillDir(sub.get(), index, rel)) return e;
    } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
      auto stored = StoreFile(fd, name, rel, st.st_size);
      if (stored.error) return stored.error;
      extra = std::move(stored.value);
    } else if (S_ISLNK(st.st_mode)) {
      std::vector<char> target(static_cast<size_t>(st.st_size) + 1);
      ssize_t n = readlinkat(fd, name, target.data(), target.size());
      if (n < 0) return SourceError("readlink", rel);
      tree_.entries[index].target.assign(target.data(), static_cast<size_t>(n));
    }
    return Describe(index, st, rel, std::move(extra));
  }

  // A regular file's content into the store; its size (from the open file)
  // into `size`, the two xattrs that point overlay at the object returned.
  // The source must hold still while it is sealed: its content is read twice (digest, copy).
  Outcome<XattrList> StoreFile(int fd, const char* name, const std::string& rel, off_t& size) {
    UniqueFd from(openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!from.valid()) return SourceError("open", rel);
    struct stat st {};
    if (fstat(from.get(), &st) != 0) return SourceError("stat", rel);
    auto stored = StoreObject(store_fd_.get(), store_, from.get(), source_ + rel, pendingNames_);
    if (stored.error) return stored.error;
    tree_.counts.files++;
    if (!stored.value.temp.empty()) {
      tree_.counts.added++;
      tree_.counts.addedBytes += static_cast<uint64_t>(st.st_size);
      pendingNames_.insert(ObjectName(stored.value.digest));
      tree_.pending.push_back(stored.value);
    }
    size = st.st_size;
    return XattrList{{"trusted.overlay.redirect", "/" + ObjectName(stored.value.digest)}, {"trusted.overlay.metacopy", MetacopyValue(stored.value.digest)}};
  }

  // Entry `index`'s metadata from `st` and its xattrs (`extra` added to SRC's own).
  SysError Describe(uint32_t index, const struct stat& st, const std::string& rel, XattrList extra = {}) {
    SealEntry& entry = tree_.entries[index];
    entry.mode = st.st_mode;
    entry.uid = st.st_uid;
    entry.gid = st.st_gid;
    entry.mtime = st.st_mtim.tv_sec;
    entry.mtimeNsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) entry.size = S_ISLNK(st.st_mode) ? entry.target.size() : static_cast<uint64_t>(st.st_size);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) entry.rdev = EncodeDev(st.st_rdev);
    auto own = SourceXattrs(rel);
    if (own.error) return own.error;
    for (auto& x : extra) own.value.push_back(std::move(x));
    auto body = XattrBody(std::move(own.value), source_ + rel);
    if (body.error) return body.error;
    tree_.entries[index].xattrs = std::move(body.value);
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

  // SRC's xattrs of the entry at `rel` but overlay's own.
  Outcome<XattrList> SourceXattrs(const std::string& rel) {
    std::string from = source_ + rel;
    auto names = XattrNames(from, rel);
    if (names.error) return names.error;
    XattrList out;
    for (size_t at = 0; at < names.value.size(); at += std::strlen(names.value.c_str() + at) + 1) {
      const char* xattr = names.value.c_str() + at;
      if (std::strncmp(xattr, kOverlayPrefix, sizeof kOverlayPrefix - 1) == 0) continue;
      if (std::strncmp(xattr, kAclPrefix, sizeof kAclPrefix - 1) == 0) tree_.counts.acl = true;
      std::vector<char> value(65536);
      ssize_t n = lgetxattr(from.c_str(), xattr, value.data(), value.size());
      if (n < 0) return SourceError("lgetxattr", rel);
      out.emplace_back(xattr, std::string(value.data(), static_cast<size_t>(n)));
    }
    return out;
  }

  std::string source_, store_, skip_;
  UniqueFd store_fd_;
  SealTree tree_;
  std::set<std::string> pendingNames_;  // the pending objects' names
  std::vector<std::pair<dev_t, ino_t>> skipped_;
  std::map<std::pair<dev_t, ino_t>, uint32_t> links_;  // a hard-linked file's entry
};

}  // namespace

Outcome<SealTree> CollectTree(const std::string& source, const std::string& store, const std::string& skip) {
  return Collector(source, store, skip).Run();
}

}  // namespace ovl
