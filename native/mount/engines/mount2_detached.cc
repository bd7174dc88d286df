// Image and idmapped layers where overlay has no `lowerdir+` (6.1 and others
// before 6.8): there are no layer fds to hand over, and a detached image
// mount or idmapped tree is no mount of the caller's namespace, which overlay
// requires before 6.15. So, in a thread with a private mount namespace
// (mount/engines/attached_layers.h), the image mounts and idmapped trees are attached, the
// overlay is mounted with mount(2) naming every layer by /proc/self/fd/N,
// cloned detached with open_tree(OPEN_TREE_CLONE), and the clone handed back;
// the namespace, and every mount in it, ends with the thread. The caller
// attaches the clone as it does a fsmount()ed overlay.
#include "mount/engines/mount2_detached.h"

#include <fcntl.h>
#include <sys/mount.h>

#include <cerrno>

#include "core/mount_flags.h"
#include "mount/engines/attached_layers.h"
#include "mount/engines/mount2.h"
#include "util/sys.h"

namespace ovl {

Outcome<DetachedOverlay> CreateWithMount2(const MountRequest& request, const OpenedLayers& layers) {
  DetachedOverlay overlay;
  SysError e = WithAttachedLayers(layers, [&](const OpenedLayers& attached) -> SysError {
    // Every layer by its fd's name: short, and no path here is what it seems.
    auto data = MountData(request, attached, Mechanism::MountFdPath);
    if (data.error) return data.error;
    // On the target's path in this namespace, above the images stacked there.
    const std::string& at = request.target;
    if (::mount("overlay", at.c_str(), "overlay", ToKernelBits(request.flags).msSet, data.value.c_str()) != 0) return SysError::FromErrno("mount", request.target);
    overlay.mount = UniqueFd(sys::open_tree(AT_FDCWD, at.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    SysError cloned = overlay.mount.valid() ? SysError{} : SysError::FromErrno("open_tree", request.target, "target");
    // The clone holds the overlay now; this mount goes before the images beneath it (mount/engines/attached_layers.cc).
    ::umount2(at.c_str(), MNT_DETACH);
    return cloned;
  });
  if (e) return e;
  return overlay;
}

}  // namespace ovl
