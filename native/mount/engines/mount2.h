// The mount(2) engine: one data string of at most one page, for kernels
// whose overlay has no `lowerdir+`.
#pragma once

#include <string>

#include "mount/open_layers.h"
#include "core/mount_request.h"
#include "util/sys_error.h"

namespace ovl {

Outcome<MountResult> MountWithMount2(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

// mount(2)'s data string for a request (also image_mount2.cc's).
std::string BuildMountData(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

// Whether mount(2) data for this request fits the one page the kernel copies.
bool FitsOnePage(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

}  // namespace ovl
