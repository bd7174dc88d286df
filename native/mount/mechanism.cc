#include "mount/mechanism.h"

#include <string>

#include "mount/idmap.h"
#include "inspect/kernel_features.h"
#include "mount/engines/mount2.h"

namespace ovl {

bool IsFsconfig(Mechanism m) { return m == Mechanism::FsconfigFd || m == Mechanism::FsconfigPath; }

// The fallback ladder: the new API when overlay takes `lowerdir+`, else
// mount(2) with the longest names that still fit one page.
Outcome<Mechanism> ChooseMechanism(const MountRequest& request, const OpenedLayers& layers) {
  if (request.mechanism != Mechanism::Auto) return request.mechanism;
  const KernelFeatures& kernel = ProbeKernel();
  if (kernel.layerFd) return Mechanism::FsconfigFd;
  if (kernel.lowerdirPlus) return Mechanism::FsconfigPath;
  for (Mechanism m : {Mechanism::Mount, Mechanism::MountFdPath, Mechanism::MountFdRelative}) {
    if (FitsOnePage(request, layers, m)) return m;
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

Outcome<OpenedLayers> PrepareLayers(const MountRequest& request, Mechanism* mechanism) {
  if (auto e = CheckDataLayersSupported(request)) return e;
  auto layers = OpenLayers(request);
  if (layers.error) return layers.error;
  auto chosen = ChooseMechanism(request, layers.value);
  if (chosen.error) return chosen.error;
  *mechanism = chosen.value;
  if (request.idmap.wanted()) {
    // mount(2) (no `lowerdir+`, 6.1) takes idmapped trees too, once attached
    // in a private mount namespace (image_mount2.h): nothing to refuse here.
    if (auto e = IdmapLowerLayers(request.idmap, &layers.value)) return e;
  }
  return layers;
}

}  // namespace ovl
