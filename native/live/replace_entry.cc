// replaceOverlay / replaceOverlaySync: swaps the overlay mounted on a path
// for a new one so that every lookup through the path sees one stack or the
// other, never the directory beneath: the new overlay is made detached,
// moved beneath the running one (MOVE_MOUNT_BENEATH, 6.5+), and the old one
// is then detached from above. Any failure before the move leaves the old
// overlay as it was and the new one freed with its fd. After the move the
// kernel offers no way back: the new overlay cannot be taken out from under
// the old one without unmounting it too. So the two ways the last step can
// fail (a mount made on the target in between; the detach refused) are
// reported with the state they leave, mount ids included.
#include <fcntl.h>
#include <sys/mount.h>

#include <napi.h>

#include "core/mount_args.h"
#include "images/image_record_file.h"
#include "inspect/kernel_features.h"
#include "inspect/mount_identity.h"
#include "inspect/mount_root.h"
#include "mount/attach.h"
#include "mount/engines/fsconfig.h"
#include "mount/prepare.h"
#include "mount/propagation.h"
#include "util/fault.h"
#include "util/sys.h"
#include "util/twin.h"

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

uint64_t TopMountId(const std::string& target) {
  UniqueFd top(::open(target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  return top.valid() ? MountIdOf(top.get()) : 0;
}

std::string Id(uint64_t id) { return std::to_string(id); }

// After the move, something else than the old overlay is on top: a mount
// made on the target meanwhile. Detaching the old overlay would take that
// mount with it, and the new one cannot be taken back out from under them.
SysError OvermountedAfterMove(const std::string& target, uint64_t oldId, uint64_t newId, uint64_t topId) {
  return SysError::Invalid("target", target,
                           "another mount (id " + Id(topId) + ") was made on '" + target + "' during the replacement; the new overlay (id " + Id(newId) +
                               ") is mounted beneath the old one (id " + Id(oldId) + "), which stays mounted: neither can be unmounted without "
                               "unmounting that mount too",
                           EBUSY);
}

// Detaches the old overlay through its fd (a path could have been renamed
// since). umount2 still acts on whatever is on top of it: the check just
// before narrows that window to two system calls, the kernel has no way to close it.
// A failure leaves both stacked, and says so.
SysError DetachOld(const std::string& target, int oldRootFd, uint64_t oldId, uint64_t newId) {
  int injected = FaultAt("replace.detach-old");
  if (injected == 0 && ::umount2(FdPath(oldRootFd).c_str(), MNT_DETACH) == 0) return {};
  int errnum = injected != 0 ? injected : errno;
  // Unmounted by someone else in between: the new overlay is on top, which is all that was asked.
  if (TopMountId(target) == newId) return {};
  errno = errnum;
  SysError e = SysError::FromErrno("umount2", target, "target");
  e.reason = "the old overlay (id " + Id(oldId) + ") could not be detached after the new one (id " + Id(newId) +
             ") was mounted beneath it, so both stay mounted, the old on top: unmount '" + target + "' once to finish";
  return e;
}

Outcome<MountResult> RunReplace(const MountRequest& request) {
  if (!ProbeKernel().moveMountBeneath) return NeedsMoveBeneath(request.target);
  auto old = OpenOverlayMountRoot(request.target, "target");
  if (old.error) return old.error;
  auto prepared = PrepareLayers(request);
  if (prepared.error) return prepared.error;
  const OpenedLayers& layers = prepared.value.layers;
  Mechanism mechanism = prepared.value.mechanism;
  if (!IsFsconfig(mechanism)) return NeedsFsconfig(request.target, mechanism);

  auto overlay = CreateDetachedOverlay(request, layers, mechanism);
  if (overlay.error) return overlay.error;
  int mnt = overlay.value.mount.get();
  // Checked on the detached mount first, so a refusal comes while nothing has moved.
  if (request.propagation != Propagation::Keep) {
    if (auto e = SetPropagation(mnt, request.propagation, request.target)) return e;
  }
  uint64_t oldId = MountIdOf(old.value.get()), newId = MountIdOf(mnt);
  FaultAt("replace.before-move");
  // MOVE_MOUNT_BENEATH goes beneath whatever is on top now: it must still be the old overlay.
  if (TopMountId(request.target) != oldId) {
    return SysError::Invalid("target", request.target,
                             "another mount was made on '" + request.target + "' while the new overlay was being built; nothing was changed", EBUSY);
  }
  if (sys::move_mount(mnt, "", old.value.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH | MOVE_MOUNT_BENEATH) != 0) {
    return SysError::FromErrno("move_mount", request.target, "target");
  }
  FaultAt("replace.after-move");
  uint64_t topId = TopMountId(request.target);
  if (topId != oldId) return OvermountedAfterMove(request.target, oldId, newId, topId);
  if (auto e = DetachOld(request.target, old.value.get(), oldId, newId)) return e;
  // Again now that it is attached: a shared parent makes what it receives shared.
  if (request.propagation != Propagation::Keep) {
    if (auto e = SetPropagation(mnt, request.propagation, request.target)) return e;
  }
  MountResult result = MountResultFor(mechanism, mnt, std::move(overlay.value.warnings));
  DescribeImages(layers, mnt, &result);
  RecordImages(request, &result);
  return result;
}

const Operation<MountRequest, MountResult> kReplaceOverlay{"replaceOverlay", ParseMountRequest, RunReplace, MountResultToJs};

}  // namespace

void InitReplace(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kReplaceOverlay); }

}  // namespace ovl
