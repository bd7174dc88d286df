#include "check/check_probes.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "check/probe_xattr_whiteout.h"
#include "inspect/mount_identity.h"

#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

namespace ovl {
namespace {

// The names the probes use inside their scratch directory.
constexpr const char* kDir = "dir";
constexpr const char* kFile = "file";
constexpr const char* kMoved = "moved";

// The xattr the kernel itself sets on work/work to learn whether the upper
// takes overlay's xattrs (ovl_make_workdir), in both namespaces overlay uses.
constexpr const char* kTrustedXattr = "trusted.overlay.opaque";
constexpr const char* kUserXattr = "user.overlay.opaque";

Capability Supported() { return {Capability::State::Supported, 0}; }
Capability Refused(int errnum) { return {Capability::State::Unsupported, errnum}; }

struct Entry {
  std::string name;
  unsigned char type;
};

// Lists a directory with the d_type readdir reports, "." and ".." left out.
bool ReadDir(int dirFd, std::vector<Entry>* out) {
  int fd = ::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return false;
  }
  errno = 0;
  while (struct dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out->push_back({e->d_name, e->d_type});
  }
  int saved = errno;
  ::closedir(dir);
  errno = saved;
  return saved == 0;
}

std::string RandomSuffix() {
  unsigned char bytes[8] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    uint64_t fallback = static_cast<uint64_t>(::getpid()) * 2654435761u ^ reinterpret_cast<uintptr_t>(&bytes);
    std::memcpy(bytes, &fallback, sizeof bytes);
  }
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

constexpr const char* kScratchPrefix = ".overlay-native-check-";
constexpr int kMaxTreeDepth = 8;  // the probes nest four deep; anything deeper is not ours
constexpr time_t kStaleAfter = 60;  // seconds: a scratch directory is locked within microseconds of its making

// Removes `name` in `parentFd` and everything beneath it; the paths that
// could not be removed go to `leftovers`.
void RemoveTree(int parentFd, const std::string& name, const std::string& shownAs, int depth, std::vector<std::string>* leftovers) {
  if (::unlinkat(parentFd, name.c_str(), 0) == 0) return;
  UniqueFd dir(::openat(parentFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  std::vector<Entry> entries;
  if (dir.valid() && depth < kMaxTreeDepth && ReadDir(dir.get(), &entries)) {
    for (const Entry& e : entries) RemoveTree(dir.get(), e.name, shownAs + "/" + e.name, depth + 1, leftovers);
  }
  dir.reset();
  if (::unlinkat(parentFd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) leftovers->push_back(shownAs);
}

// A check killed before it cleaned up (kill -9) leaves its scratch directory.
// A live check holds a lock on its own, so an unlocked one past its first
// minute is a leftover: removed here, reported if it cannot be.
void RemoveStaleScratch(int workFd, const std::string& workPath, std::vector<std::string>* leftovers) {
  std::vector<Entry> entries;
  if (!ReadDir(workFd, &entries)) return;
  for (const Entry& e : entries) {
    if (e.name.rfind(kScratchPrefix, 0) != 0) continue;
    UniqueFd dir(::openat(workFd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!dir.valid() || ::fstat(dir.get(), &st) != 0 || ::time(nullptr) - st.st_mtime < kStaleAfter) continue;
    if (::flock(dir.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a check still running
    RemoveTree(workFd, e.name, workPath + "/" + e.name, 0, leftovers);
  }
}

// A directory of our own inside work, locked while it lives, emptied and
// removed on destruction. Work is overlay's private scratch space: the
// kernel empties work/work on every mount and never shows work through a
// merged view, and an entry next to work/work is ignored by a mounted
// overlay, so a short-lived sibling there changes nothing a user or a mount
// sees; upper is never written.
class ScratchDir {
 public:
  ScratchDir(int workFd, const std::string& workPath, std::vector<std::string>* leftovers)
      : workFd_(workFd), workPath_(workPath), leftovers_(leftovers) {
    for (int attempt = 0; attempt < 8; attempt++) {
      std::string name = kScratchPrefix + RandomSuffix();
      if (::mkdirat(workFd, name.c_str(), 0700) == 0) {
        name_ = name;
        fd_.reset(::openat(workFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd_.valid() || ::flock(fd_.get(), LOCK_EX) != 0) errnum_ = errno;
        return;
      }
      if (errno != EEXIST) break;
    }
    errnum_ = errno;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() { Remove(); }

  int fd() const { return fd_.get(); }
  int errnum() const { return errnum_; }
  bool ok() const { return fd_.valid() && errnum_ == 0; }

 private:
  void Remove() {
    if (name_.empty()) return;
    fd_.reset();
    RemoveTree(workFd_, name_, workPath_ + "/" + name_, 0, leftovers_);
  }

  int workFd_;
  std::string workPath_;
  std::vector<std::string>* leftovers_;
  std::string name_;
  UniqueFd fd_;
  int errnum_ = 0;
};

// ovl_check_d_type_supported: readdir must report a type other than
// DT_UNKNOWN for entries other than "." and "..".
Capability ProbeDType(int scratchFd) {
  if (::mkdirat(scratchFd, kDir, 0700) != 0) return {Capability::State::Untested, errno};
  std::vector<Entry> entries;
  if (!ReadDir(scratchFd, &entries)) return {Capability::State::Untested, errno};
  for (const Entry& e : entries) {
    if (e.name == kDir) return e.type == DT_UNKNOWN ? Refused(0) : Supported();
  }
  return {Capability::State::Untested, ENOENT};
}

// Set, read back and remove, on a directory as the kernel does on work/work.
Capability ProbeXattr(int scratchFd, const char* name) {
  UniqueFd dir(::openat(scratchFd, kDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return {Capability::State::Untested, errno};
  if (::fsetxattr(dir.get(), name, "0", 1, 0) != 0) return Refused(errno);
  char value[4] = {};
  ssize_t n = ::fgetxattr(dir.get(), name, value, sizeof value);
  int readErrno = n < 0 ? errno : 0;
  ::fremovexattr(dir.get(), name);  // the directory goes with the scratch anyway
  if (n < 0) return Refused(readErrno);
  return (n == 1 && value[0] == '0') ? Supported() : Refused(EIO);
}

// ovl_make_workdir opens an O_TMPFILE in work/work; copy-up then uses one.
Capability ProbeTmpfile(int scratchFd) {
  UniqueFd tmp(::openat(scratchFd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  return tmp.valid() ? Supported() : Refused(errno);
}

// ovl_check_rename_whiteout: rename a file with RENAME_WHITEOUT and look for
// the 0/0 character device left in its place.
Capability ProbeRenameWhiteout(int scratchFd) {
  UniqueFd file(::openat(scratchFd, kFile, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
  if (!file.valid()) return {Capability::State::Untested, errno};
  file.reset();
  if (::renameat2(scratchFd, kFile, scratchFd, kMoved, RENAME_WHITEOUT) != 0) return Refused(errno);
  struct stat st {};
  if (::fstatat(scratchFd, kFile, &st, AT_SYMLINK_NOFOLLOW) != 0) return Refused(errno);
  return (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) ? Supported() : Refused(0);
}

}  // namespace

DirFacts InspectDir(const std::string& path, UniqueFd* fd) {
  fd->reset(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  return InspectOpened(path, fd->get(), fd->valid() ? 0 : errno);
}

DirFacts InspectOpened(const std::string& path, int fd, int openErrno) {
  DirFacts facts;
  facts.path = path;
  if (openErrno != 0) {
    facts.openErrno = openErrno;
    return facts;
  }
  facts.mountId = MountIdOf(fd);
  struct statfs sfs {};
  if (::fstatfs(fd, &sfs) == 0) facts.fsMagic = static_cast<uint64_t>(sfs.f_type);
  struct statvfs svfs {};
  if (::fstatvfs(fd, &svfs) == 0) facts.readOnly = (svfs.f_flag & ST_RDONLY) != 0;
  return facts;
}

WorkProbes ProbeWorkDir(int workFd, const std::string& workPath) {
  WorkProbes probes;
  RemoveStaleScratch(workFd, workPath, &probes.leftovers);
  ScratchDir scratch(workFd, workPath, &probes.leftovers);
  if (!scratch.ok()) {
    probes.scratchErrno = scratch.errnum();
    Capability untested{Capability::State::Untested, scratch.errnum()};
    probes.dType = probes.trustedXattr = probes.userXattr = probes.tmpfile = probes.renameWhiteout = untested;
    return probes;
  }
  probes.dType = ProbeDType(scratch.fd());
  probes.trustedXattr = ProbeXattr(scratch.fd(), kTrustedXattr);
  probes.userXattr = ProbeXattr(scratch.fd(), kUserXattr);
  probes.tmpfile = ProbeTmpfile(scratch.fd());
  probes.renameWhiteout = ProbeRenameWhiteout(scratch.fd());
  probes.xattrWhiteouts = ProbeXattrWhiteouts(scratch.fd());
  return probes;
}

IncompatDir ReadIncompatDir(int workFd) {
  IncompatDir out;
  UniqueFd dir(::openat(workFd, "work/incompat", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) {
    if (errno != ENOENT) out.errnum = errno;
    return out;
  }
  std::vector<Entry> entries;
  if (!ReadDir(dir.get(), &entries)) {
    out.errnum = errno;
    return out;
  }
  for (const Entry& e : entries) out.entries.push_back(e.name);
  return out;
}

}  // namespace ovl
