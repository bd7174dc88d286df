// buildOverlay / buildOverlaySync: the first half of `apply`. Builds an
// overlay detached (fsopen .. fsmount, attached nowhere) and hands its fd to
// JavaScript, so every stack of a declaration can be built before any target
// changes; closing the fd frees it. The mount's ids are known from here on
// and stay the same once it is attached, which lets apply record it first.
#include <fcntl.h>

#include <napi.h>

#include "core/mount_args.h"
#include "inspect/mount_identity.h"
#include "mount/engines/fsconfig.h"
#include "mount/prepare.h"
#include "mount/propagation.h"
#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct BuiltOverlay {
  int fd = -1;  // owned by JavaScript from here on
  Mechanism mechanism = Mechanism::Auto;
  uint64_t mountId = 0, uniqueId = 0;
  std::vector<std::string> warnings;
};

Outcome<BuiltOverlay> RunBuild(const MountRequest& request) {
  auto prepared = PrepareLayers(request);
  if (prepared.error) return prepared.error;
  Mechanism mechanism = prepared.value.mechanism;
  if (!IsFsconfig(mechanism)) {
    return SysError::Invalid("mechanism", request.target,
                             std::string("apply builds every stack detached with the new mount API and `lowerdir+` (Linux 6.8+); the mechanism '") +
                                 MechanismName(mechanism) + "' cannot",
                             EOPNOTSUPP);
  }
  auto overlay = CreateDetachedOverlay(request, prepared.value.layers, mechanism);
  if (overlay.error) return overlay.error;
  int mnt = overlay.value.mount.get();
  // Tried on the detached mount, so a refusal comes while no target has changed.
  if (request.propagation != Propagation::Keep) {
    if (auto e = SetPropagation(mnt, request.propagation, request.target)) return e;
  }
  BuiltOverlay built;
  built.fd = ::fcntl(mnt, F_DUPFD_CLOEXEC, 0);
  if (built.fd < 0) return SysError::FromErrno("fcntl", request.target, "target");
  built.mechanism = mechanism;
  built.mountId = MountIdOf(mnt);
  built.uniqueId = UniqueMountIdOf(mnt);
  built.warnings = std::move(overlay.value.warnings);
  return built;
}

// [mechanism, mountId, warnings, uniqueId, fd]: a mount's packed result (core/mount_args.h), its fd last.
Napi::Value BuiltToJs(Napi::Env env, const BuiltOverlay& built) {
  Napi::Array out = Napi::Array::New(env, 5);
  out.Set(0u, MechanismName(built.mechanism));
  out.Set(1u, Napi::Number::New(env, static_cast<double>(built.mountId)));
  Napi::Array warnings = Napi::Array::New(env, built.warnings.size());
  for (size_t i = 0; i < built.warnings.size(); i++) warnings.Set(i, built.warnings[i]);
  out.Set(2u, warnings);
  out.Set(3u, Napi::Number::New(env, static_cast<double>(built.uniqueId)));
  out.Set(4u, Napi::Number::New(env, built.fd));
  return out;
}

const Operation<MountRequest, BuiltOverlay> kBuildOverlay{"buildOverlay", ParseMountRequest, RunBuild, BuiltToJs};

}  // namespace

void InitApplyBuild(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kBuildOverlay);
}

}  // namespace ovl
