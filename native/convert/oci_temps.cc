#include "convert/oci_temps.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "layers/layer_dir.h"
#include "layers/whiteout_temps.h"
#include "util/fault.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

constexpr char kTempInfix[] = ".ovl-oci-";
constexpr size_t kTempRandom = 6;  // mkdtemp's XXXXXX: letters and digits
constexpr char kJournalSuffix[] = ".moved";

bool EndsWithTempName(const std::string& name) {
  const size_t infix = sizeof kTempInfix - 1;
  if (name.size() < infix + kTempRandom || name[0] != '.') return false;
  size_t at = name.size() - kTempRandom;
  if (name.compare(at - infix, infix, kTempInfix) != 0) return false;
  for (size_t i = at; i < name.size(); i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool IsJournalName(const std::string& name) {
  const size_t suffix = sizeof kJournalSuffix - 1;
  return name.size() > suffix && name.compare(name.size() - suffix, suffix, kJournalSuffix) == 0 && EndsWithTempName(name.substr(0, name.size() - suffix));
}

// Removes `name` beneath dirFd and all it holds, never through a symlink. A
// directory the export left without write permission is given it back first.
void RemoveTree(int dirFd, const std::string& name) {
  struct stat st {};
  if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    ::unlinkat(dirFd, name.c_str(), 0);
    return;
  }
  if ((st.st_mode & 0700) != 0700) ::fchmodat(dirFd, name.c_str(), (st.st_mode & 07777) | 0700, 0);
  UniqueFd sub = OpenDirAt(dirFd, name);
  std::vector<std::string> names;
  if (sub.valid() && ReadNames(sub.get(), names)) {
    for (const std::string& child : names) RemoveTree(sub.get(), child);
  }
  ::unlinkat(dirFd, name.c_str(), AT_REMOVEDIR);
}

std::string Hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Who an entry is: its inode, and its birth time where the filesystem keeps
// one ("-" else), since a freed inode number is handed to the next file made.
std::string IdentityOf(int dirFd, const std::string& name) {
  struct statx st {};
  if (::statx(dirFd, name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BTIME, &st) != 0) return {};
  std::string born = (st.stx_mask & STATX_BTIME) ? std::to_string(st.stx_btime.tv_sec) + "." + std::to_string(st.stx_btime.tv_nsec) : "-";
  return std::to_string(st.stx_ino) + " " + born;
}

// The journal: one line per moved entry, "INODE BIRTH HEXNAME\n". A line cut
// short by a kill is left out (its entry was not moved yet).
std::multimap<std::string, std::string> ReadJournal(int dirFd, const std::string& journal) {
  std::multimap<std::string, std::string> moved;
  UniqueFd file(::openat(dirFd, journal.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file.valid()) return moved;
  std::string text;
  char buf[16 * 1024];
  for (ssize_t n; (n = ::read(file.get(), buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  for (size_t at = 0;;) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) break;
    std::string line = text.substr(at, end - at);
    at = end + 1;
    size_t first = line.find(' ');
    size_t space = first == std::string::npos ? first : line.find(' ', first + 1);
    if (space == std::string::npos || (line.size() - space - 1) % 2 != 0) continue;
    std::string name;
    bool ok = true;
    for (size_t i = space + 1; i + 1 < line.size() && ok; i += 2) {
      int hi = HexDigit(line[i]), lo = HexDigit(line[i + 1]);
      ok = hi >= 0 && lo >= 0;
      name += static_cast<char>(hi * 16 + lo);
    }
    if (ok && !name.empty()) moved.emplace(name, line.substr(0, space));
  }
  return moved;
}

// One leftover temporary inside a DEST: the entries its journal says it moved
// (those still the entry listed: a user's entry of that name made later is
// another inode, or born later), then the temporary, then the journal.
void RemoveMovedExport(int dirFd, const std::string& temp) {
  const std::string journal = temp + kJournalSuffix;
  for (const auto& [name, identity] : ReadJournal(dirFd, journal)) {
    if (IdentityOf(dirFd, name) == identity) RemoveTree(dirFd, name);
  }
  RemoveTree(dirFd, temp);
  ::unlinkat(dirFd, journal.c_str(), 0);
}

}  // namespace

bool IsOciLeftover(const std::string& name, const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return EndsWithTempName(name);
  return S_ISREG(st.st_mode) && IsJournalName(name);
}

void RemoveOciLeftovers(int dirFd, const std::vector<std::string>& names) {
  std::set<std::string> temps;
  for (const std::string& name : names) {
    if (IsJournalName(name)) {
      RemoveMovedExport(dirFd, name.substr(0, name.size() - (sizeof kJournalSuffix - 1)));
      temps.erase(name.substr(0, name.size() - (sizeof kJournalSuffix - 1)));
    } else {
      temps.insert(name);
    }
  }
  for (const std::string& temp : temps) RemoveTree(dirFd, temp);
}

namespace {

// The point a test can kill or fail the n-th move at (native/util/fault.h).
int MoveFault(size_t n) {
#ifdef OVERLAY_NATIVE_TEST
  if (int e = FaultAt("toOci.move")) return e;
  return FaultAt(("toOci.move#" + std::to_string(n)).c_str());
#else
  (void)n;
  return 0;
#endif
}

}  // namespace

bool IsOciTempName(const std::string& name) { return name.find('/') == std::string::npos && EndsWithTempName(name); }

Outcome<int> EnterOciTempDir(const std::string& path) {
  UniqueFd dir(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return SysError::FromErrno("open", path, "dest");
  static const MoreLeftovers kOciLeftovers{IsOciLeftover, RemoveOciLeftovers};
  UniqueFd held = LockTempDir(dir.get(), &kOciLeftovers);
  int fd = held.get();
  held.release();
  return fd;
}

SysError MoveOciExportUp(const std::string& dirPath, const std::string& tempName) {
  UniqueFd dir(::open(dirPath.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return SysError::FromErrno("open", dirPath, "dest");
  const std::string tempPath = dirPath + "/" + tempName;
  UniqueFd temp = OpenDirAt(dir.get(), tempName);
  if (!temp.valid()) return SysError::FromErrno("openat", tempPath, "dest");
  std::vector<std::string> names;
  if (!ReadNames(temp.get(), names)) return SysError::FromErrno("getdents64", tempPath, "dest");
  std::string journal;
  for (const std::string& name : names) {
    std::string identity = IdentityOf(temp.get(), name);
    if (identity.empty()) return SysError::FromErrno("statx", tempPath + "/" + name, "dest");
    journal += identity + " " + Hex(name) + "\n";
  }
  const std::string journalName = tempName + kJournalSuffix;
  UniqueFd out(::openat(dir.get(), journalName.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return SysError::FromErrno("openat", dirPath + "/" + journalName, "dest");
  for (size_t put = 0; put < journal.size();) {
    ssize_t w = ::write(out.get(), journal.data() + put, journal.size() - put);
    if (w < 0) return SysError::FromErrno("write", dirPath + "/" + journalName, "dest");
    put += static_cast<size_t>(w);
  }
  out.reset();
  for (size_t i = 0; i < names.size(); i++) {
    const std::string& name = names[i];
    errno = MoveFault(i);
    // dir was empty and is locked: a name there now is someone else's, and stays.
    int rc = errno ? -1 : ::renameat2(temp.get(), name.c_str(), dir.get(), name.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) rc = ::linkat(temp.get(), name.c_str(), dir.get(), name.c_str(), 0) == 0 ? ::unlinkat(temp.get(), name.c_str(), 0) : -1;
    if (rc != 0) return SysError::FromErrno("renameat2", dirPath + "/" + name, "dest");
  }
  if (::unlinkat(dir.get(), tempName.c_str(), AT_REMOVEDIR) != 0) return SysError::FromErrno("unlinkat", tempPath, "dest");
  return {};
}

SysError RemoveOciTemp(const std::string& dirPath, const std::string& tempName) {
  UniqueFd dir(::open(dirPath.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return SysError::FromErrno("open", dirPath, "dest");
  RemoveOciLeftovers(dir.get(), {tempName + kJournalSuffix, tempName});
  return {};
}

}  // namespace ovl
