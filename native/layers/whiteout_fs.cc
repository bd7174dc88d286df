#include "layers/whiteout_fs.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include "layers/overlay_xattr.h"
#include "util/fault.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

constexpr int kTempAttempts = 32;
constexpr char kTempPrefix[] = ".ovl-wh-";
constexpr size_t kTempRandom = 8;

// Random enough that a clash is rare (a clash only costs a retry): one
// getrandom per thread seeds a splitmix64 stream, so a batch of thousands of
// temporaries makes one system call for its names, not one each.
uint64_t NextTempBits() {
  static std::atomic<uint64_t> counter{0};
  thread_local uint64_t state = [] {
    uint64_t seed = 0;
    if (::getrandom(&seed, sizeof seed, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof seed)) {
      // No entropy yet (early boot): a mixed counter, time and pid will do.
      seed = (counter.fetch_add(1) + 1) * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(::time(nullptr)) ^ (static_cast<uint64_t>(::getpid()) << 32);
    }
    return seed;
  }();
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string TempName() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t x = NextTempBits();
  std::string name = kTempPrefix;
  for (size_t i = 0; i < kTempRandom; i++) {
    name += kAlphabet[(x & 0xff) % (sizeof kAlphabet - 1)];
    x >>= 8;
  }
  return name;
}

// Makes a new entry under a fresh temporary name; `make` returns -1 with errno set.
template <typename Make>
Outcome<std::string> MakeUnderTempName(const Entry& entry, const char* syscall, Make make) {
  for (int i = 0; i < kTempAttempts; i++) {
    std::string name = TempName();
    if (make(name) == 0) return name;
    if (errno != EEXIST) break;
  }
  return SysError::FromErrno(syscall, entry.display, entry.field);
}

// Renames the finished temporary over the entry (force), or into place only
// if nothing is there. On failure the temporary goes and the entry stays.
SysError PlaceOver(const Entry& entry, const std::string& temp, bool replace) {
  const char* syscall = replace ? "renameat" : "renameat2";
  if (int injected = FaultAt("whiteout.temp-made")) {
    errno = injected;
    SysError error = SysError::FromErrno(syscall, entry.display, entry.field);
    ::unlinkat(entry.dirFd, temp.c_str(), 0);
    return error;
  }
  int rc = replace ? ::renameat(entry.dirFd, temp.c_str(), entry.dirFd, entry.name.c_str())
                   : ::renameat2(entry.dirFd, temp.c_str(), entry.dirFd, entry.name.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && !replace && errno == EINVAL) {
    // A filesystem without RENAME_NOREPLACE: link(2) refuses to replace too.
    syscall = "linkat";
    rc = ::linkat(entry.dirFd, temp.c_str(), entry.dirFd, entry.name.c_str(), 0);
    if (rc == 0) ::unlinkat(entry.dirFd, temp.c_str(), 0);
  }
  if (rc == 0) return {};
  SysError error = SysError::FromErrno(syscall, entry.display, entry.field);
  ::unlinkat(entry.dirFd, temp.c_str(), 0);
  return error;
}

SysError MakeChardevWhiteout(const Entry& entry, bool force) {
  const dev_t whiteoutDev = makedev(0, 0);
  if (!force) {
    if (::mknodat(entry.dirFd, entry.name.c_str(), S_IFCHR | 0, whiteoutDev) != 0) {
      return SysError::FromErrno("mknodat", entry.display, entry.field);
    }
    return {};
  }
  auto temp = MakeUnderTempName(entry, "mknodat", [&](const std::string& name) {
    return ::mknodat(entry.dirFd, name.c_str(), S_IFCHR | 0, whiteoutDev);
  });
  if (temp.error) return temp.error;
  return PlaceOver(entry, temp.value, true);
}

SysError PlaceXattrFile(const Entry& entry, const WhiteoutSpec& spec) {
  UniqueFd file;
  auto temp = MakeUnderTempName(entry, "openat", [&](const std::string& name) {
    int fd = ::openat(entry.dirFd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    file.reset(fd);
    return fd < 0 ? -1 : 0;
  });
  if (temp.error) return temp.error;
  // The kernel checks only that the xattr exists; its value is left empty.
  if (::fsetxattr(file.get(), OverlayXattr("whiteout", spec.userxattr).c_str(), "", 0, 0) != 0) {
    SysError error = SysError::FromErrno("fsetxattr", entry.display, entry.field);
    ::unlinkat(entry.dirFd, temp.value.c_str(), 0);
    return error;
  }
  return PlaceOver(entry, temp.value, spec.force);
}

// The kernel honours xattr whiteouts only in a directory marked opaque=x, so
// the parent is marked first: a whiteout it would not honour never appears.
SysError MakeXattrWhiteout(const Entry& entry, const WhiteoutSpec& spec, bool* markedOpaque, bool parentMarked) {
  if (parentMarked) return PlaceXattrFile(entry, spec);
  Entry parent{entry.dirFd, ".", entry.display, entry.field};
  auto dir = OpenDirectory(parent);
  if (dir.error) return dir.error;
  auto opaque = ReadOpaque(dir.value.get(), spec.userxattr, parent);
  if (opaque.error) return opaque.error;
  if (opaque.value == 'y') {
    // Opaque already hides every lower entry, and the kernel would list the file in readdir.
    return SysError::Invalid(entry.field, entry.display,
                             "the directory holding '" + entry.display + "' is opaque ('y'): it already hides every lower entry, and an xattr whiteout in it would be listed as an empty file");
  }
  bool markedNow = false;
  if (opaque.value != 'x') {
    if (auto e = WriteOpaque(dir.value.get(), 'x', spec.userxattr, parent)) return e;
    markedNow = opaque.value == '\0';
  }
  SysError error = PlaceXattrFile(entry, spec);
  if (error && markedNow) RemoveOpaque(dir.value.get(), spec.userxattr, parent);
  if (!error && markedOpaque != nullptr) *markedOpaque = markedNow;
  return error;
}

}  // namespace

SysError CheckWhiteoutName(const Entry& entry) {
  if (entry.name == "." || entry.name == "..") {
    return SysError::Invalid(entry.field, entry.display, "'" + entry.display + "' names a directory's own entry (the root itself?), not an entry in it");
  }
  return {};
}

SysError MakeWhiteout(const Entry& entry, const WhiteoutSpec& spec, bool* markedOpaque, bool parentMarked) {
  if (markedOpaque != nullptr) *markedOpaque = false;
  if (auto e = CheckWhiteoutName(entry)) return e;
  return spec.kind == WhiteoutKind::Xattr ? MakeXattrWhiteout(entry, spec, markedOpaque, parentMarked) : MakeChardevWhiteout(entry, spec.force);
}

namespace {

Outcome<std::string> LinkUnderTempName(const Entry& entry, const std::string& from) {
  for (int i = 0; i < kTempAttempts; i++) {
    std::string name = TempName();
    if (::linkat(entry.dirFd, from.c_str(), entry.dirFd, name.c_str(), 0) == 0) return name;
    if (errno == ENOENT) return std::string();
    // A directory cannot be linked, nor replaced by the whiteout: say so as the rename would.
    if (errno == EPERM) {
      struct stat st {};
      if (::fstatat(entry.dirFd, entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return SysError::FromErrno("renameat", entry.display, entry.field);
      }
      errno = EPERM;
    }
    if (errno != EEXIST) break;
  }
  return SysError::FromErrno("linkat", entry.display, entry.field);
}

}  // namespace

Outcome<Backups> KeepBackups(const Entry& entry) {
  auto first = LinkUnderTempName(entry, entry.name);
  if (first.error) return first.error;
  if (first.value.empty()) return Backups{};
  // Linked from the first backup: the entry's name may have changed hands since.
  auto second = LinkUnderTempName(entry, first.value);
  if (second.error || second.value.empty()) {
    ::unlinkat(entry.dirFd, first.value.c_str(), 0);
    if (second.error) return second.error;
    errno = ENOENT;
    return SysError::FromErrno("linkat", entry.display, entry.field);
  }
  return Backups{first.value, second.value};
}

void DropBackups(const Entry& entry, Backups& backups) {
  if (!backups.kept()) return;
  struct stat st {};
  if (::fstatat(entry.dirFd, backups.first.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 2 && st.st_size > 0) {
    UniqueFd file(::openat(entry.dirFd, backups.first.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (file.valid()) ::ftruncate(file.get(), 0);
  }
  FaultAt("whiteouts.dropping-backups");
  ::unlinkat(entry.dirFd, backups.first.c_str(), 0);
  ::unlinkat(entry.dirFd, backups.second.c_str(), 0);
  backups = Backups{};
}

bool IsWhiteoutTempName(const std::string& name) {
  const size_t prefix = sizeof kTempPrefix - 1;
  if (name.size() != prefix + kTempRandom || name.compare(0, prefix, kTempPrefix) != 0) return false;
  for (size_t i = prefix; i < name.size(); i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

Outcome<WhiteoutKind> ProbeWhiteout(const Entry& entry, bool userxattr) {
  struct stat st {};
  if (::fstatat(entry.dirFd, entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return WhiteoutKind::None;
    return SysError::FromErrno("fstatat", entry.display, entry.field);
  }
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return WhiteoutKind::Chardev;
  if (!S_ISREG(st.st_mode) || st.st_size != 0) return WhiteoutKind::None;

  // fgetxattr needs a real fd (not O_PATH). Opened only once known to be a
  // regular file; O_NONBLOCK and the fstat below cover a swap since then.
  UniqueFd file(::openat(entry.dirFd, entry.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file.valid()) {
    if (errno == ENOENT || errno == ELOOP) return WhiteoutKind::None;
    return SysError::FromErrno("openat", entry.display, entry.field);
  }
  if (::fstat(file.get(), &st) != 0) return SysError::FromErrno("fstat", entry.display, entry.field);
  if (!S_ISREG(st.st_mode) || st.st_size != 0) return WhiteoutKind::None;
  if (::fgetxattr(file.get(), OverlayXattr("whiteout", userxattr).c_str(), nullptr, 0) >= 0) return WhiteoutKind::Xattr;
  if (errno == ENODATA || errno == ENOTSUP) return WhiteoutKind::None;
  return SysError::FromErrno("fgetxattr", entry.display, entry.field);
}

}  // namespace ovl
