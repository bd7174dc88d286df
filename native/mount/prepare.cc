#include "mount/prepare.h"

#include <string>

#include "inspect/kernel_features.h"
#include "mount/engines/mount2.h"
#include "mount/idmap/idmap.h"
#include "mount/open_layers.h"

namespace ovl {

bool IsFsconfig(Mechanism m) { return m == Mechanism::FsconfigFd || m == Mechanism::FsconfigPath; }

namespace {

// The fallback ladder: the new API when overlay takes `lowerdir+`, else
// mount(2) with the longest names that still fit one page, whose data string
// is kept for the engine.
SysError ChooseMechanism(const MountRequest& request, PreparedLayers* prepared) {
  prepared->mechanism = request.mechanism;
  if (request.mechanism != Mechanism::Auto) return {};
  const KernelFeatures& kernel = ProbeKernel();
  if (kernel.layerFd || kernel.lowerdirPlus) {
    prepared->mechanism = kernel.layerFd ? Mechanism::FsconfigFd : Mechanism::FsconfigPath;
    return {};
  }
  for (Mechanism m : {Mechanism::Mount, Mechanism::MountFdPath, Mechanism::MountFdRelative}) {
    auto data = MountData(request, prepared->layers, m);
    if (data.error) continue;
    prepared->mechanism = m;
    prepared->mountData = std::move(data.value);
    return {};
  }
  return SysError::Invalid("lower", request.target,
                           "this kernel has no `lowerdir+` and the options do not fit one page for mount(2) even as fd numbers", E2BIG);
}

// Data-only layers came with overlay's own parameter parser (6.5). Before it
// the kernel reads `a::d` as an empty layer ("overlayfs: empty lowerdir" in
// dmesg, a bare EINVAL): say what is missing instead. Not asked without
// CAP_SYS_ADMIN (fsopen refused): the mount then fails on its own.
SysError CheckDataLayersSupported(const MountRequest& request) {
  if (request.data.empty() && request.dataImages.empty()) return {};
  const KernelFeatures& kernel = ProbeKernel();
  bool tooOld = (kernel.newMountApi && !kernel.overlayParsesParams) || kernel.fsopenErrno == ENOSYS;
  if (!tooOld) return {};
  return SysError::Invalid("data", request.target, "data-only layers need Linux 6.5+ (overlay's own parameter parser); this kernel's overlay is older", ENOSYS);
}

}  // namespace

Outcome<PreparedLayers> PrepareLayers(const MountRequest& request) {
  if (auto e = CheckDataLayersSupported(request)) return e;
  auto layers = OpenLayers(request);
  if (layers.error) return layers.error;
  PreparedLayers prepared;
  prepared.layers = std::move(layers.value);
  if (auto e = ChooseMechanism(request, &prepared)) return e;
  if (request.idmap.wanted()) {
    // mount(2) (no `lowerdir+`, 6.1) takes idmapped trees too, once attached
    // in a private mount namespace (engines/mount2_detached.h): nothing to refuse here.
    if (auto e = IdmapLowerLayers(request.idmap, &prepared.layers)) return e;
  }
  return prepared;
}

}  // namespace ovl
