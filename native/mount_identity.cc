#include "mount_identity.h"

#include <fcntl.h>
#include <sys/stat.h>

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

namespace ovl {

MountIdentity IdentifyMount(int fd) {
  MountIdentity id;
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID)) id.mountId = stx.stx_mnt_id;
  // A kernel that does not know the flag answers with the short id and leaves the bit clear.
  struct statx unique {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &unique) == 0 && (unique.stx_mask & STATX_MNT_ID_UNIQUE)) {
    id.uniqueId = unique.stx_mnt_id;
  }
  return id;
}

}  // namespace ovl
