// Finds the directory an entry lives in. Beneath a root, resolution never
// leaves the root and follows no symlink, so a hostile tree cannot redirect
// a write (openat2 RESOLVE_BENEATH, or a component walk before 5.6).
#pragma once

#include <string>
#include <vector>

#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

enum class Resolver { Auto, Openat2, Walk };

// Reads "openat2" / "walk"; false for anything else.
bool ParseResolver(const std::string& name, Resolver* out);

// An entry to act on: its name inside an open directory. The entry itself is
// never followed: callers use AT_SYMLINK_NOFOLLOW / O_NOFOLLOW on `name`.
struct Entry {
  int dirFd = -1;       // borrowed from the EntryResolver, valid until its next call
  std::string name;     // "." when the path names the root (or "/") itself
  std::string display;  // the whole path, for messages
  std::string field;    // the request field at fault: "path", "paths[3]"
  bool sameDir = false; // dirFd is the one the previous Find handed out: the same directory, opened once
};

class EntryResolver {
 public:
  EntryResolver() = default;

  // root empty: paths are taken as given, following symlinks except in the
  // last component. Otherwise root is opened (following symlinks: it is the
  // caller's) and every path is taken beneath it.
  static Outcome<EntryResolver> Open(const std::string& root, Resolver resolver);

  // Opens the directory holding `path`'s last component. Consecutive paths in
  // the same directory reuse one fd, which matters for batches of thousands.
  Outcome<Entry> Find(const std::string& path, const std::string& field);

  // Find into an Entry the caller keeps: its strings' storage is reused, so a
  // batch makes no allocation per path once warm (a batch of new whiteouts
  // is otherwise one mknodat a name, and the allocations were a fifth of it).
  SysError FindInto(const std::string& path, const std::string& field, Entry& entry);

 private:
  Outcome<UniqueFd> OpenBeneath(const std::vector<std::string>& dirs, const Entry& entry);
  Outcome<UniqueFd> OpenWithOpenat2(const std::string& dir, const Entry& entry);
  Outcome<UniqueFd> OpenByWalking(const std::vector<std::string>& dirs, const Entry& entry);
  SysError Split(const std::string& path, const Entry& entry);

  std::string rootPath_;
  UniqueFd root_;
  Resolver resolver_ = Resolver::Auto;
  std::string cachedDir_;
  UniqueFd cached_;
  // The last path taken apart, kept for its storage.
  std::vector<std::string> dirs_;
  std::string dir_;
};

}  // namespace ovl
