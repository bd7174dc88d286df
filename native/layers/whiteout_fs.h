// Making and recognising whiteouts, the two forms the kernel reads: a char
// device 0/0, or a zero-size file carrying overlay.whiteout (6.7+).
#pragma once

#include "layers/resolve.h"
#include "util/sys_error.h"

namespace ovl {

enum class WhiteoutKind { None, Chardev, Xattr };

struct WhiteoutSpec {
  WhiteoutKind kind = WhiteoutKind::Chardev;
  bool force = false;      // replace what is there, atomically
  bool userxattr = false;  // user.overlay.* instead of trusted.overlay.*
};

// Creates a whiteout at entry. Without force an existing entry is EEXIST and
// untouched; with force the whiteout is made under a temporary name and renamed
// over it, so a failure leaves the old entry as it was.
// markedOpaque, when given, is set when an xattr whiteout had to mark its
// directory opaque 'x' (it was unmarked): undoing the whiteout undoes that too.
// parentMarked: an xattr whiteout of the same batch was just made in this
// directory, so it is marked 'x' already and its mark is not read again.
SysError MakeWhiteout(const Entry& entry, const WhiteoutSpec& spec, bool* markedOpaque = nullptr, bool parentMarked = false);

// A name MakeWhiteout uses for a moment (`.ovl-wh-` and 8 letters or digits):
// one left by a killed process is no entry of the user's.
bool IsWhiteoutTempName(const std::string& name);

// Two hard links kept of an entry a forced whiteout replaces, under temporary
// names beside it, so the replacement can be undone. Two, so that while they
// exist the inode has more than one link even once its own name is gone: a
// killed process's backups then have a shape no user's entry of that name
// has (IsWhiteoutLeftover), and are cleaned, not reported as the user's.
struct Backups {
  std::string first, second;
  bool kept() const { return !first.empty(); }
};

// Keeps two links of what is at entry (never a directory: force cannot
// replace one); none when nothing is there.
Outcome<Backups> KeepBackups(const Entry& entry);

// Removes backups no longer needed. A regular file only they still hold is
// emptied first, so that a kill between the two unlinks leaves an empty file,
// again a temporary's shape.
void DropBackups(const Entry& entry, Backups& backups);

// Refuses a path naming a directory's own entry ("." or ".."), which no whiteout can replace.
SysError CheckWhiteoutName(const Entry& entry);

// Which kind of whiteout is at entry; None for anything else or nothing at all.
Outcome<WhiteoutKind> ProbeWhiteout(const Entry& entry, bool userxattr);

}  // namespace ovl
