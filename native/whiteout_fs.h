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
SysError MakeWhiteout(const Entry& entry, const WhiteoutSpec& spec);

// Which kind of whiteout is at entry; None for anything else or nothing at all.
Outcome<WhiteoutKind> ProbeWhiteout(const Entry& entry, bool userxattr);

}  // namespace ovl
