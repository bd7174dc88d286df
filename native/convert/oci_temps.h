// The temporaries toOci (lib/convert/to-oci.ts) builds a layer's OCI form in, and what
// a killed convert leaves of them. They keep the protocol of layers/whiteout_temps.h:
// the directory holding them is held with a shared flock while they may
// exist, and whoever gets that lock exclusively removes them.
//   `.NAME.ovl-oci-XXXXXX`  a new DEST built beside it, renamed into place whole
//   `.ovl-oci-XXXXXX`       the tree built inside an empty DEST, then moved up
//   `.ovl-oci-XXXXXX.moved` while moving up: each entry moved (inode, birth time, name), so
//                           a leftover's moved entries are told from the user's
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "util/sys_error.h"

namespace ovl {

// A leftover's name and shape: a directory of either temporary name, or a
// regular file of the journal's name.
bool IsOciLeftover(const std::string& name, const struct stat& st);

// Removes the leftovers among `names` (each judged by IsOciLeftover first) in
// the directory open at dirFd: a journal's moved entries that still carry the
// inode it lists, then its temporary, then the journal itself; so a cleaner
// killed half way leaves a journal that the next one still follows.
void RemoveOciLeftovers(int dirFd, const std::vector<std::string>& names);

// A bare name of the `.ovl-oci-XXXXXX` shape (no '/').
bool IsOciTempName(const std::string& name);

// The directory at `path` locked as layers/whiteout_temps.h says (its dead
// leftovers, ours included, removed first when no one else holds it): the
// fd holding the shared lock, for the caller to close once its temporaries
// are gone; -1 when it cannot be locked (then it is not cleaned either).
Outcome<int> EnterOciTempDir(const std::string& path);

// Every entry of the finished temporary `temp` moved up into `dir`, each
// first written to the journal `temp.moved`, then the emptied temporary
// removed. The journal stays: the caller removes it once dir is complete (its
// own metadata set), and until then a crash is undone from it.
SysError MoveOciExportUp(const std::string& dir, const std::string& temp);

// A failed export's own temporary undone, as a crash's is.
SysError RemoveOciTemp(const std::string& dir, const std::string& temp);

}  // namespace ovl
