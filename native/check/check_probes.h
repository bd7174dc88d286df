// What a would-be upper and work directory offer overlay, found by trying
// each thing the kernel tries when it mounts (ovl_make_workdir and
// ovl_get_upper in fs/overlayfs/super.c), without leaving anything behind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "check/probe_xattr_whiteout.h"
#include "util/unique_fd.h"

namespace ovl {

// The answer of one probe: tried and worked, tried and refused, or not tried.
struct Capability {
  enum class State { Untested, Supported, Unsupported };
  State state = State::Untested;
  int errnum = 0;  // why it was refused, or why it could not be tried
};

// One directory as the kernel would see it.
struct DirFacts {
  std::string path;
  int openErrno = 0;       // could not open it as a directory
  uint64_t mountId = 0;    // statx's, matches mountinfo's first field
  uint64_t fsMagic = 0;    // statfs f_type
  bool readOnly = false;   // statvfs ST_RDONLY: the mount or the superblock is read-only
  std::string imageType;   // the filesystem of the image file it lies in, when it is an image layer
};

struct WorkProbes {
  int scratchErrno = 0;  // could not create the scratch directory in work
  Capability dType, trustedXattr, userXattr, tmpfile, renameWhiteout;
  Tristate xattrWhiteouts = Tristate::Unknown;  // the kernel's answer, from layers built in the scratch directory
  std::vector<std::string> leftovers;  // scratch entries (this run's or a killed run's) that could not be removed
};

// Opens `path` (O_PATH) into *fd and says what it is.
DirFacts InspectDir(const std::string& path, UniqueFd* fd);

// The same for a directory already open (a layer inside an image); `openErrno` when it is not.
DirFacts InspectOpened(const std::string& path, int fd, int openErrno);

// Removes what a killed earlier check left in work, then runs every probe
// inside a scratch directory it creates in `workFd` and removes.
WorkProbes ProbeWorkDir(int workFd, const std::string& workPath);

// Entries of work/work/incompat: the kernel refuses to mount over any of them
// ("overlay with incompat feature '...' cannot be mounted", readdir.c).
struct IncompatDir {
  int errnum = 0;  // could not read it (ENOENT, the usual case, is not an error)
  std::vector<std::string> entries;
};
IncompatDir ReadIncompatDir(int workFd);

}  // namespace ovl
