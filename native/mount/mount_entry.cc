// mountOverlay / mountOverlaySync: open and check every layer, pick the best
// mechanism this kernel offers, mount. Nothing stays behind on failure: the
// layer fds close themselves and a failed fsmount leaves no mount.
#include <napi.h>

#include "mount/engines/mount2_detached.h"
#include "images/image_record_file.h"
#include "inspect/kernel_features.h"
#include "core/mount_args.h"
#include "mount/engines/fsconfig.h"
#include "mount/engines/mount2.h"
#include "mount/mechanism.h"
#include "util/twin.h"

namespace ovl {
namespace {

Outcome<MountResult> MountLayers(const MountRequest& request) {
  Mechanism mechanism = request.mechanism;
  auto layers = PrepareLayers(request, &mechanism);
  if (layers.error) return layers.error;
  if (IsFsconfig(mechanism)) return MountWithFsconfig(request, layers.value, mechanism);
  // Image and idmapped layers are detached trees, which mount(2) reaches only once attached (image_mount2.h).
  bool detached = request.hasImages() || request.idmap.wanted();
  return detached ? MountImagesWithMount2(request, layers.value, mechanism) : MountWithMount2(request, layers.value, mechanism);
}

Outcome<MountResult> RunMount(const MountRequest& request) {
  Outcome<MountResult> mounted = MountLayers(request);
  if (!mounted.error) RecordImages(request, &mounted.value);
  return mounted;
}

const Operation<MountRequest, MountResult> kMountOverlay{"mountOverlay", ParseMountRequest, RunMount, MountResultToJs};

Napi::Value KernelFeaturesToJs(const Napi::CallbackInfo& info) {
  const KernelFeatures& k = ProbeKernel();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("newMountApi", k.newMountApi);
  out.Set("overlayParsesParams", k.overlayParsesParams);
  out.Set("lowerdirPlus", k.lowerdirPlus);
  out.Set("layerFd", k.layerFd);
  out.Set("moveMountBeneath", k.moveMountBeneath);
  out.Set("fsopenErrno", k.fsopenErrno);
  return out;
}

}  // namespace

void InitMount(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kMountOverlay);
  exports.Set("kernelFeatures", Napi::Function::New(env, KernelFeaturesToJs, "kernelFeatures"));
}

}  // namespace ovl
