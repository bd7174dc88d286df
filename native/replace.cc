// replaceOverlay / replaceOverlaySync: swaps the overlay mounted on a path
// for a new one so that every lookup through the path sees one stack or the
// other, never the directory beneath: the new overlay is made detached,
// moved beneath the running one (MOVE_MOUNT_BENEATH, 6.5+), and the old one
// is then detached from above. Any failure before that last step leaves the
// old overlay as it was and the new one freed with its fd.
#include <fcntl.h>
#include <sys/mount.h>

#include <napi.h>

#include "args.h"
#include "kernel_features.h"
#include "mount_engines.h"
#include "mount_identity.h"
#include "mount_root.h"
#include "propagation.h"
#include "sys.h"
#include "twin.h"

namespace ovl {
namespace {

SysError NeedsMoveBeneath(const std::string& target) {
  return SysError::Invalid("target", target,
                           "replace needs move_mount with MOVE_MOUNT_BENEATH (Linux 6.5+), which this kernel lacks; "
                           "it never falls back to a non-atomic unmount and mount",
                           ENOSYS);
}

SysError NeedsFsconfig(const std::string& target, Mechanism mechanism) {
  return SysError::Invalid("mechanism", target,
                           std::string("replace builds the new overlay detached with the new mount API and `lowerdir+` (Linux 6.8+); "
                                       "the mechanism '") + MechanismName(mechanism) + "' cannot",
                           EOPNOTSUPP);
}

// The old overlay must still be the topmost mount at the path before it is detached by path.
bool StillOnTop(const std::string& target, int oldRootFd) {
  UniqueFd top(::open(target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  uint64_t old = MountIdOf(oldRootFd);
  return top.valid() && old != 0 && MountIdOf(top.get()) == old;
}

Outcome<MountResult> RunReplace(const MountRequest& request) {
  if (!ProbeKernel().moveMountBeneath) return NeedsMoveBeneath(request.target);
  auto old = OpenOverlayMountRoot(request.target, "target");
  if (old.error) return old.error;
  Mechanism mechanism = request.mechanism;
  auto layers = PrepareLayers(request, &mechanism);
  if (layers.error) return layers.error;
  if (!IsFsconfig(mechanism)) return NeedsFsconfig(request.target, mechanism);

  auto overlay = CreateDetachedOverlay(request, layers.value, mechanism);
  if (overlay.error) return overlay.error;
  int mnt = overlay.value.mount.get();
  // Checked on the detached mount first, so a refusal comes while nothing has moved.
  if (!request.propagation.empty()) {
    if (auto e = SetPropagation(mnt, request.propagation, request.target)) return e;
  }
  if (sys::move_mount(mnt, "", old.value.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH | MOVE_MOUNT_BENEATH) != 0) {
    return SysError::FromErrno("move_mount", request.target, "target");
  }
  if (!StillOnTop(request.target, old.value.get())) {
    return SysError::Invalid("target", request.target,
                             "another mount appeared on top of the old overlay during the replacement; the new overlay is mounted beneath both", EBUSY);
  }
  if (::umount2(request.target.c_str(), MNT_DETACH) != 0) return SysError::FromErrno("umount2", request.target, "target");
  // Again now that it is attached: a shared parent makes what it receives shared.
  if (!request.propagation.empty()) {
    if (auto e = SetPropagation(mnt, request.propagation, request.target)) return e;
  }
  MountResult result;
  result.mechanism = mechanism;
  result.mountId = MountIdOf(mnt);
  result.uniqueMountId = UniqueMountIdOf(mnt);
  result.warnings = std::move(overlay.value.warnings);
  return result;
}

const Operation<MountRequest, MountResult> kReplaceOverlay{"replaceOverlay", ParseMountRequest, RunReplace, MountResultToJs};

}  // namespace

void InitReplace(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kReplaceOverlay); }

}  // namespace ovl
