// The two families of mechanisms: the new mount API (fsopen ... move_mount)
// and mount(2) with a data string.
#pragma once

#include "layers.h"
#include "mount_request.h"
#include "sys_error.h"

namespace ovl {

Outcome<MountResult> MountWithFsconfig(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);
Outcome<MountResult> MountWithMount2(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

// "/proc/self/fd/N": a name for an opened directory that fits any limit.
std::string FdPath(int fd);

// Whether mount(2) data for this request fits the one page the kernel copies.
bool FitsOnePage(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

}  // namespace ovl
