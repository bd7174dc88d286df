// The first stages of a mount: the layers opened and checked, the engine
// chosen, the lower layers idmapped when asked.
#pragma once

#include <string>

#include "core/mount_request.h"
#include "mount/opened_layers.h"
#include "util/sys_error.h"

namespace ovl {

bool IsFsconfig(Mechanism m);

// What the later stages take: the opened layers and the mechanism chosen.
struct PreparedLayers {
  OpenedLayers layers;
  Mechanism mechanism = Mechanism::Auto;
  // mount(2)'s data string, when choosing the mechanism built it to see it fit one page.
  std::string mountData;
};

// Opens the layers, chooses the mechanism (forced, or the best this kernel
// offers) and, when asked, swaps the lower ones for idmapped clones.
Outcome<PreparedLayers> PrepareLayers(const MountRequest& request);

}  // namespace ovl
