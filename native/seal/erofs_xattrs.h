// An inode's inline xattrs in EROFS's form: a 12-byte header (no shared
// xattrs, no name filter), then one entry per xattr, its name given as a
// prefix index and the rest, each padded to 4 bytes. Only the prefixes the
// kernel lists have an index: user., trusted., security. and the two POSIX
// ACLs (whose value is the xattr form listxattr gives, which the kernel
// reads back as it is).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "util/sys_error.h"

namespace ovl {

using XattrList = std::vector<std::pair<std::string, std::string>>;  // name, value

// The body for `xattrs` (sorted here by name, so equal sets give equal
// bytes); empty when there are none. A name with no index, a name or value
// too long for the format is refused naming it, `path` the entry's.
Outcome<std::string> XattrBody(XattrList xattrs, const std::string& path);

// The body's i_xattr_icount: 0 for none, else (size - 12) / 4 + 1.
uint16_t XattrCount(const std::string& body);

}  // namespace ovl
