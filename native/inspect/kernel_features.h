// What this kernel's overlay accepts, probed once per process: the ladder of
// mechanisms differs between kernels and errnos alone do not tell them apart.
#pragma once

#include <string>

namespace ovl {

struct KernelFeatures {
  bool newMountApi = false;          // fsopen("overlay") works (5.2+)
  bool overlayParsesParams = false;  // fsconfig rejects an unknown key (6.5+)
  bool lowerdirPlus = false;         // `lowerdir+` / `datadir+` (6.8+)
  bool layerFd = false;              // FSCONFIG_SET_FD for layers (6.13+)
  bool moveMountBeneath = false;     // MOVE_MOUNT_BENEATH (6.5+)
  int fsopenErrno = 0;               // why fsopen failed, if it did
};

const KernelFeatures& ProbeKernel();

}  // namespace ovl
