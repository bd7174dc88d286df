// Reading a layer's directories relative to their fds: names by getdents64
// (bytes, sorted), entries by fstatat without following, and the overlay's
// marks by fgetxattr. Shared by the native layer walks.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

// The names in the directory open at fd ("." and ".." left out), sorted by bytes.
// False leaves errno as getdents64 set it.
bool ReadNames(int dirFd, std::vector<std::string>& names);

// Opens the directory `name` beneath dirFd for reading, never through a symlink.
UniqueFd OpenDirAt(int dirFd, const std::string& name);

// Whether the entry `name` (already lstat'ed as st) is a whiteout: a char
// device 0/0, or an empty regular file carrying overlay.whiteout.
// False with errno 0 when it is not; false with errno set on a failure.
bool IsWhiteoutAt(int dirFd, const std::string& name, const struct stat& st, bool userxattr);

// The overlay.opaque value of the directory open at fd: 'y', 'x', '?' (other), 0 (none).
// -1 with errno set on a failure.
int OpaqueOf(int dirFd, bool userxattr);

// A temporary a killed forced whiteout left (native/layers/whiteout_fs.cc): never the user's.
bool IsWhiteoutLeftover(const std::string& name, const struct stat& st);

}  // namespace ovl
