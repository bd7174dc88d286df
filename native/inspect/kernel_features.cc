#include "inspect/kernel_features.h"

#include <fcntl.h>

#include <cerrno>
#include <mutex>

#include "util/sys.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

UniqueFd OpenOverlayContext() { return UniqueFd(sys::fsopen("overlay", FSOPEN_CLOEXEC)); }

// Only meaningful on a kernel whose overlay parses its own parameters: the
// legacy parser (before 6.5) accepts any key at fsconfig time.
bool AcceptsString(const char* key, const char* value) {
  UniqueFd fs = OpenOverlayContext();
  return fs.valid() && sys::fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value, 0) == 0;
}

bool AcceptsLayerFd() {
  UniqueFd fs = OpenOverlayContext();
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));  // the kind of fd we will pass
  return fs.valid() && root.valid() && sys::fsconfig(fs.get(), FSCONFIG_SET_FD, "lowerdir+", nullptr, root.get()) == 0;
}

// MOVE_MOUNT_BENEATH with nothing to move: kernels that know the flag check
// the (missing) source first and answer EBADF; older ones reject the flag.
// Without CAP_SYS_ADMIN move_mount answers EPERM before it looks at the flags,
// as fsopen does: lib/inspect/kernel.ts then says the probes could not run.
bool KnowsMoveBeneath() {
  int rc = sys::move_mount(-1, "", -1, "", MOVE_MOUNT_BENEATH | MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  return rc != 0 && errno == EBADF;
}

KernelFeatures Probe() {
  KernelFeatures f;
  f.moveMountBeneath = KnowsMoveBeneath();  // not overlay's: asked even where overlay cannot be opened
  UniqueFd fs = OpenOverlayContext();
  if (!fs.valid()) {
    f.fsopenErrno = errno;
    return f;
  }
  f.newMountApi = true;
  f.overlayParsesParams = !AcceptsString("overlay_native_probe_unknown_key", "1");
  f.lowerdirPlus = f.overlayParsesParams && AcceptsString("lowerdir+", "/");
  f.layerFd = f.lowerdirPlus && AcceptsLayerFd();
  return f;
}

}  // namespace

const KernelFeatures& ProbeKernel() {
  static std::once_flag once;
  static KernelFeatures features;
  std::call_once(once, [] { features = Probe(); });
  return features;
}

}  // namespace ovl
