#include "layers/resolve.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <string_view>

#include "util/sys.h"

namespace ovl {
namespace {

// Set once openat2 reports ENOSYS (before 5.6, or a seccomp filter), so later calls walk at once.
std::atomic<bool> gNoOpenat2{false};

// A path taken apart: the directory components (beneath a root), the
// directory part as one string (the cache key) and the last component ("."
// for the root itself). Written into the caller's strings to reuse them.
struct SplitInto {
  std::vector<std::string>& dirs;
  std::string& dir;
  std::string& name;
};

SysError Refused(const Entry& entry, int errnum, std::string reason) {
  return SysError::Invalid(entry.field, entry.display, std::move(reason), errnum);
}

// Beneath a root: relative components only; ".." is refused outright so both
// resolvers agree, even where the kernel would allow a ".." that stays inside.
SysError SplitBeneath(const std::string& path, const Entry& entry, SplitInto out) {
  if (!path.empty() && path[0] == '/') return Refused(entry, EXDEV, "'" + path + "' must be relative to root");
  out.dirs.clear();
  if (!path.empty() && path.find('/') == std::string::npos && path != ".." && path != ".") {
    // One name in root itself, the common case of a batch: no components to split.
    out.dir.assign(".");
    out.name.assign(path);
    return {};
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "..") return Refused(entry, EXDEV, "'" + path + "' has a '..' component, which could leave root");
    if (!part.empty() && part != ".") out.dirs.push_back(std::move(part));
    start = end + 1;
  }
  if (out.dirs.empty()) {
    out.name.assign(".");
  } else {
    out.name = std::move(out.dirs.back());
    out.dirs.pop_back();
  }
  out.dir.clear();
  for (const auto& d : out.dirs) (out.dir.empty() ? out.dir : out.dir.append("/")).append(d);
  if (out.dir.empty()) out.dir.assign(".");
  return {};
}

// Without a root: the directory part is opened as any fs call would.
void SplitPlain(const std::string& given, SplitInto out) {
  size_t length = given.size();
  while (length > 1 && given[length - 1] == '/') length--;
  std::string_view path(given.data(), length);
  size_t slash = path.rfind('/');
  if (path == "/") {
    out.dir.assign("/");
    out.name.assign(".");
  } else if (slash == std::string_view::npos) {
    out.dir.assign(".");
    out.name.assign(path);
  } else {
    out.dir.assign(slash == 0 ? std::string_view("/") : path.substr(0, slash));
    out.name.assign(path.substr(slash + 1));
  }
}

}  // namespace

bool ParseResolver(const std::string& name, Resolver* out) {
  if (name == "openat2") *out = Resolver::Openat2;
  else if (name == "walk") *out = Resolver::Walk;
  else return false;
  return true;
}

Outcome<EntryResolver> EntryResolver::Open(const std::string& root, Resolver resolver) {
  EntryResolver r;
  r.resolver_ = resolver;
  if (root.empty()) return r;
  int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError::FromErrno("open", root, "root");
  r.rootPath_ = root;
  r.root_.reset(fd);
  return r;
}

Outcome<Entry> EntryResolver::Find(const std::string& path, const std::string& field) {
  Entry entry;
  if (auto e = FindInto(path, field, entry)) return e;
  return entry;
}

SysError EntryResolver::FindInto(const std::string& path, const std::string& field, Entry& entry) {
  entry.dirFd = -1;
  entry.sameDir = false;
  entry.field.assign(field);
  if (root_.valid()) {
    entry.display.assign(rootPath_);
    if (!path.empty() && path != ".") (rootPath_ == "/" ? entry.display : entry.display.append("/")).append(path);
  } else {
    entry.display.assign(path);
  }
  if (path.empty()) return Refused(entry, EINVAL, "the path is empty");

  SplitInto split{dirs_, dir_, entry.name};
  if (root_.valid()) {
    if (auto e = SplitBeneath(path, entry, split)) return e;
  } else {
    SplitPlain(path, split);
  }

  entry.sameDir = cached_.valid() && cachedDir_ == dir_;
  if (!entry.sameDir) {
    cached_.reset();
    Outcome<UniqueFd> dir;
    if (root_.valid()) {
      dir = OpenBeneath(dirs_, entry);
    } else {
      int fd = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      dir = fd < 0 ? Outcome<UniqueFd>(SysError::FromErrno("open", entry.display, field)) : Outcome<UniqueFd>(UniqueFd(fd));
    }
    if (dir.error) return dir.error;
    cached_ = std::move(dir.value);
    cachedDir_.assign(dir_);
  }
  entry.dirFd = cached_.get();
  return {};
}

Outcome<UniqueFd> EntryResolver::OpenBeneath(const std::vector<std::string>& dirs, const Entry& entry) {
  if (resolver_ == Resolver::Walk || gNoOpenat2.load(std::memory_order_relaxed)) return OpenByWalking(dirs, entry);
  std::string dir;
  for (const auto& d : dirs) dir += (dir.empty() ? "" : "/") + d;
  auto opened = OpenWithOpenat2(dir.empty() ? "." : dir, entry);
  if (opened.error.errnum == ENOSYS && resolver_ == Resolver::Auto) {
    gNoOpenat2.store(true, std::memory_order_relaxed);
    return OpenByWalking(dirs, entry);
  }
  if (opened.error.errnum != ELOOP) return opened;
  // openat2 says only ELOOP; the walk names the component that is a symlink.
  auto walked = OpenByWalking(dirs, entry);
  if (walked.error.errnum != ELOOP) return opened;
  walked.error.syscall = "openat2";
  return walked.error;
}

Outcome<UniqueFd> EntryResolver::OpenWithOpenat2(const std::string& dir, const Entry& entry) {
  struct open_how how {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = sys::openat2(root_.get(), dir.c_str(), &how);
  if (fd < 0) return SysError::FromErrno("openat2", entry.display, entry.field);
  return UniqueFd(fd);
}

// One component at a time, never following: O_NOFOLLOW|O_PATH opens a symlink
// itself, which fstat then shows for what it is.
Outcome<UniqueFd> EntryResolver::OpenByWalking(const std::vector<std::string>& dirs, const Entry& entry) {
  int fd = ::openat(root_.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError::FromErrno("openat", entry.display, entry.field);
  UniqueFd current(fd);
  std::string walked;
  for (const auto& part : dirs) {
    walked += (walked.empty() ? "" : "/") + part;
    UniqueFd next(::openat(current.get(), part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return SysError::FromErrno("openat", entry.display, entry.field);
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) return SysError::FromErrno("fstat", entry.display, entry.field);
    if (S_ISLNK(st.st_mode)) {
      SysError e = Refused(entry, ELOOP, "'" + walked + "' in '" + entry.display + "' is a symlink, and no symlink is followed beneath root '" + rootPath_ + "'");
      e.syscall = "openat";
      return e;
    }
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      return SysError::FromErrno("openat", entry.display, entry.field);
    }
    current = std::move(next);
  }
  return current;
}

}  // namespace ovl
