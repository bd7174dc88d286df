// The new mount API: every layer is its own fsconfig call, so no page limit
// and no escaping; failures come back with the kernel's words in the fs log.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "mount/engines/attached_layers.h"
#include "mount/engines/fsconfig.h"
#include "util/fs_context.h"
#include "util/sys.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

// fsconfig copies at most 255 bytes of a key or string value.
constexpr size_t kMaxFsconfigString = 255;

// For layers: the field name is formatted only on failure.
SysError SetLayerFd(FsContext& ctx, const char* key, const Layer& layer) {
  if (sys::fsconfig(ctx.fd(), FSCONFIG_SET_FD, key, nullptr, layer.fd.get()) == 0) return {};
  return ctx.Fail(FsContext::FsconfigError(key, layer.path, layer.field()));
}

SysError SetLayerString(FsContext& ctx, const char* key, const std::string& value, const Layer& layer) {
  if (sys::fsconfig(ctx.fd(), FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0) return {};
  return ctx.Fail(FsContext::FsconfigError(key, layer.path, layer.field()));
}

SysError SetLayer(FsContext& ctx, const char* key, const Layer& layer, Mechanism mechanism) {
  if (mechanism == Mechanism::FsconfigFd) return SetLayerFd(ctx, key, layer);
  // A detached tree (an idmapped layer) has no path but its fd's name.
  if (layer.detached) return SetLayerString(ctx, key, FdPath(layer.fd.get()), layer);
  // Real paths read best in mountinfo; an fd name only when the path cannot
  // be passed as it is: past 255 bytes, or holding a backslash, which the
  // kernel drops from `upperdir`/`workdir` strings (seen on 6.18).
  bool literal = layer.path.size() <= kMaxFsconfigString && layer.path.find('\\') == std::string::npos;
  const std::string& value = literal ? layer.path : FdPath(layer.fd.get());
  return SetLayerString(ctx, key, value, layer);
}

SysError Configure(FsContext& ctx, const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism) {
  // mountinfo's source column, as mount(8) and mount(2) users write it.
  if (auto e = ctx.SetString("source", "overlay", "", "source")) return e;
  for (const Layer& layer : layers.lower) {
    if (auto e = SetLayer(ctx, "lowerdir+", layer, mechanism)) return e;
  }
  for (const Layer& layer : layers.data) {
    if (auto e = SetLayer(ctx, "datadir+", layer, mechanism)) return e;
  }
  if (layers.hasUpper) {
    if (auto e = SetLayer(ctx, "upperdir", layers.upper, mechanism)) return e;
    if (auto e = SetLayer(ctx, "workdir", layers.work, mechanism)) return e;
  }
  for (const MountOption& option : request.options) {
    SysError e = option.flag ? ctx.SetFlag(option.key.c_str(), "", option.key)
                             : ctx.SetString(option.key.c_str(), option.value, "", option.key);
    if (e) return e;
  }
  // `ro` on the superblock too, as mount(8) -o ro does: overlay then never writes to upper.
  if (request.flags.readOnly == Change::Set) {
    if (auto e = ctx.SetFlag("ro", "", "readOnly")) return e;
  }
  return {};
}

Outcome<DetachedOverlay> CreateOverlay(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism) {
  UniqueFd fsfd(sys::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fsfd.valid()) return SysError::FromErrno("fsopen", request.target, "target");
  FsContext ctx(std::move(fsfd));

  if (auto e = Configure(ctx, request, layers, mechanism)) return e;
  if (auto e = ctx.Create(request.target, "")) return e;
  DetachedOverlay overlay;
  // Until it is attached the mount is detached: closing this fd frees it.
  overlay.mount = UniqueFd(sys::fsmount(ctx.fd(), FSMOUNT_CLOEXEC, static_cast<unsigned>(ToKernelBits(request.flags).attrSet)));
  if (!overlay.mount.valid()) return ctx.Fail(SysError::FromErrno("fsmount", request.target));
  std::vector<std::string> errors;
  ReadFsLog(ctx.fd(), &errors, &overlay.warnings);
  overlay.warnings.insert(overlay.warnings.end(), errors.begin(), errors.end());
  return overlay;
}

// Whether overlay took detached (idmapped) trees as layers: learned at the
// first idmapped mount, since only a mount attempt tells (see mount/engines/attached_layers.h).
enum class DetachedLayers { Unknown, Taken, Refused };
std::atomic<DetachedLayers> gDetachedLayers{DetachedLayers::Unknown};

Outcome<DetachedOverlay> CreateWithAttachedLayers(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism) {
  Outcome<DetachedOverlay> overlay;
  SysError e = WithAttachedLayers(layers, [&](const OpenedLayers& attached) {
    overlay = CreateOverlay(request, attached, mechanism);
    return overlay.error;
  });
  if (e) return e;
  return overlay;
}

}  // namespace

Outcome<DetachedOverlay> CreateDetachedOverlay(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism) {
  if (!HasDetachedLayers(layers)) return CreateOverlay(request, layers, mechanism);
  // Layers still to be idmapped exist only in the private namespace (mount/idmap.h).
  if (layers.deferredIdmap.wanted() || gDetachedLayers.load() == DetachedLayers::Refused) return CreateWithAttachedLayers(request, layers, mechanism);
  auto overlay = CreateOverlay(request, layers, mechanism);
  bool refusedAtCreate = overlay.error.errnum == EINVAL && overlay.error.syscall == "fsconfig" && overlay.error.subject == "create";
  if (!overlay.error) {
    gDetachedLayers.store(DetachedLayers::Taken);
  } else if (refusedAtCreate && gDetachedLayers.load() == DetachedLayers::Unknown) {
    // Any other cause fails the same way again, and that error is the one reported.
    auto attached = CreateWithAttachedLayers(request, layers, mechanism);
    if (!attached.error) gDetachedLayers.store(DetachedLayers::Refused);
    return attached;
  }
  return overlay;
}

}  // namespace ovl
