// The loop devices an image file is bound to now, whoever bound them (this
// package, mount(8) `-o loop`, losetup). Two devices on one file give two
// superblocks on the same bytes, each writing its own view; so an image is
// first looked for among the bound devices, by the file's device and inode
// as LOOP_GET_STATUS64 reports them (lo_device, lo_inode). sysfs's
// backing_file is only the path the file had when it was bound, as seen
// from here: a hint, not an identity.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

struct BoundLoop {
  int number = -1;
  // Held open: an auto-clearing device stays bound while any fd holds it,
  // so it cannot be cleared and rebound between this look and the mount.
  UniqueFd fd;
  bool readOnly = false;
  bool wholeFile = true;  // no offset and no size limit: the same bytes as the file
  std::string path() const { return "/dev/loop" + std::to_string(number); }
};

// Every loop device bound to the file (dev, ino), each opened and its
// binding read through that fd, so what is reported is what the fd holds.
Outcome<std::vector<BoundLoop>> FindBoundLoops(dev_t dev, ino_t ino);

// /dev/loopN opened, the node made from its number where /dev is a static
// copy without it (a container, a minimal guest).
UniqueFd OpenLoopNode(int number, int flags);

}  // namespace ovl
