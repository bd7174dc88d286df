// The mount(2) engine: one data string of at most one page, for kernels
// whose overlay has no `lowerdir+`.
#pragma once

#include <string>

#include "core/mount_request.h"
#include "mount/opened_layers.h"
#include "util/sys_error.h"

namespace ovl {

// mount(2)'s data string naming every layer as `mechanism` does, built
// once and checked against the one page the kernel copies: E2BIG past it.
Outcome<std::string> MountData(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

// Mounts on the opened target with `data` (MountData's), and sets the
// request's propagation; a failure after the mount unmounts it again.
Outcome<MountResult> MountWithMount2(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism, const std::string& data);

}  // namespace ovl
