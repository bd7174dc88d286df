// mountOverlay / mountOverlaySync: a mount as one run of stages, each in its
// own file, none calling into another:
//   prepare (prepare.h)   open and check every layer, mount its images
//                         (images/), choose the mechanism, idmap the lowers;
//   create (engines/)     the overlay made by one engine: detached by the new
//                         mount API (fsconfig.h) or by mount(2) in a private
//                         namespace (mount2_detached.h), or mounted on the
//                         target by mount(2) (mount2.h, which attaches too);
//   attach (attach.h)     a detached overlay moved onto the target, its
//                         propagation set, its images described;
//   record                the images' record (images/image_record_file.h).
// Nothing stays behind on failure: the layer fds close themselves and a
// failed or unattached overlay is freed with its fd.
#include <napi.h>

#include "core/mount_args.h"
#include "images/image_record_file.h"
#include "inspect/kernel_features.h"
#include "mount/attach.h"
#include "mount/engines/fsconfig.h"
#include "mount/engines/mount2.h"
#include "mount/engines/mount2_detached.h"
#include "mount/prepare.h"
#include "util/twin.h"

namespace ovl {
namespace {

Outcome<MountResult> MountLayers(const MountRequest& request) {
  auto prepared = PrepareLayers(request);
  if (prepared.error) return prepared.error;
  const OpenedLayers& layers = prepared.value.layers;
  Mechanism mechanism = prepared.value.mechanism;
  Outcome<DetachedOverlay> overlay;
  if (IsFsconfig(mechanism)) {
    overlay = CreateDetachedOverlay(request, layers, mechanism);
  } else if (request.hasImages() || request.idmap.wanted()) {
    // Image and idmapped layers are detached trees, which mount(2) reaches only once attached.
    overlay = CreateWithMount2(request, layers);
  } else {
    std::string data = std::move(prepared.value.mountData);
    if (data.empty()) {
      auto built = MountData(request, layers, mechanism);
      if (built.error) return built.error;
      data = std::move(built.value);
    }
    return MountWithMount2(request, layers, mechanism, data);
  }
  if (overlay.error) return overlay.error;
  return AttachOverlay(request, layers, mechanism, std::move(overlay.value));
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
  exports.Set("mountFlagBits", MountFlagBitsToJs(env));
  exports.Set("kernelFeatures", Napi::Function::New(env, KernelFeaturesToJs, "kernelFeatures"));
}

}  // namespace ovl
