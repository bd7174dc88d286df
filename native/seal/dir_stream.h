// A directory listing that closes itself, opened beneath a directory fd
// without following a final symlink: the walks of a store and of an image.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "util/sys_error.h"

namespace ovl {

struct DirClose {
  void operator()(DIR* d) const { closedir(d); }
};
using DirStream = std::unique_ptr<DIR, DirClose>;

// `name` beneath `parent` (AT_FDCWD for a path); "." lists `parent` itself. `path` names it in an error.
inline Outcome<DirStream> OpenDirStream(int parent, const char* name, const std::string& path) {
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return SysError::FromErrno("open", path);
  DIR* d = fdopendir(fd);
  if (!d) {
    SysError e = SysError::FromErrno("fdopendir", path);
    close(fd);
    return e;
  }
  return DirStream(d);
}

}  // namespace ovl
