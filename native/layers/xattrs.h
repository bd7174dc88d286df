// Reading an entry's extended attributes, shared by copyXattrs and the
// test addon's readXattrs.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "util/sys_error.h"

namespace ovl {

using Xattr = std::pair<std::string, std::string>;  // name, value (bytes)

// Every xattr of `path`, the last component not followed; one removed between
// the listing and the read (ENODATA) is left out, a filesystem without xattrs has none.
Outcome<std::vector<Xattr>> ReadAllXattrs(const std::string& path, const char* field);

// An l*xattr failure, errno captured, naming the attribute.
SysError XattrError(const char* syscall, const std::string& path, const char* field, const std::string& name = {});

}  // namespace ovl
