// Making and recognising whiteouts, the two forms the kernel reads: a char
// device 0/0, or a zero-size file carrying overlay.whiteout (6.7+).
#pragma once

#include "resolve.h"
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
SysError MakeWhiteout(const Entry& entry, const WhiteoutSpec& spec, bool* markedOpaque = nullptr);

// A name MakeWhiteout uses for a moment (`.ovl-wh-` and 8 letters or digits):
// one left by a killed process is no entry of the user's.
bool IsWhiteoutTempName(const std::string& name);

// Hard-links what is at entry (never a directory: force cannot replace one)
// to a fresh temporary name beside it, so a replacement can be undone; "" when
// nothing is there.
Outcome<std::string> LinkUnderTempName(const Entry& entry);

// Refuses a path naming a directory's own entry ("." or ".."), which no whiteout can replace.
SysError CheckWhiteoutName(const Entry& entry);

// Which kind of whiteout is at entry; None for anything else or nothing at all.
Outcome<WhiteoutKind> ProbeWhiteout(const Entry& entry, bool userxattr);

}  // namespace ovl
