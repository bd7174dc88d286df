#include "mount/open_layers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "images/image_dirs_in_use.h"
#include "images/image_layers.h"
#include "mount/layer_overlap.h"

namespace ovl {
namespace {

constexpr int kMaxWalk = 4096;  // a path of PATH_MAX has fewer components than this

Outcome<Layer> OpenLayer(const std::string& path, const char* role, int index = -1) {
  int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    SysError e = SysError::FromErrno("open", path);
    e.field = Layer{path, role, index, UniqueFd()}.field();
    return e;
  }
  return Layer{path, role, index, UniqueFd(fd)};
}

struct Identity {
  dev_t dev = 0;
  ino_t ino = 0;
  uint64_t mountId = 0;
  bool operator==(const Identity& o) const { return dev == o.dev && ino == o.ino; }
};

bool Identify(int fd, Identity* out) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &stx) != 0) return false;
  if (out == nullptr) return true;
  out->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
  out->ino = stx.stx_ino;
  out->mountId = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
  return true;
}

// Walks from `inner` up to its mount's root, looking for `outer`.
// Only called for two directories on the same mount.
bool IsInside(int inner, const Identity& outer) {
  Identity here;
  if (!Identify(inner, &here)) return false;
  UniqueFd current;
  int fd = inner;
  for (int i = 0; i < kMaxWalk; i++) {
    if (here == outer) return true;
    UniqueFd parent(::openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    Identity up;
    if (!parent.valid() || !Identify(parent.get(), &up)) return false;
    if (up == here || (here.mountId != 0 && up.mountId != here.mountId)) return false;  // reached the root
    current = std::move(parent);
    fd = current.get();
    here = up;
  }
  return false;
}

SysError CheckUpperAndWork(const Layer& upper, const Layer& work) {
  switch (RelateUpperAndWork(upper.fd.get(), work.fd.get())) {
    case UpperWorkRelation::Separate:
      return {};
    case UpperWorkRelation::Unknown:
      // Ask again to learn which one failed, with its errno.
      if (!Identify(upper.fd.get(), nullptr)) return SysError::FromErrno("statx", upper.path, "upper");
      if (!Identify(work.fd.get(), nullptr)) return SysError::FromErrno("statx", work.path, "work");
      return {};
    case UpperWorkRelation::DifferentMounts:
      return SysError::Invalid("work", work.path, "upper and work must be on the same mount ('" + upper.path + "' and '" + work.path + "' are not)", EXDEV);
    case UpperWorkRelation::Same:
      return SysError::Invalid("work", work.path, "upper and work must be different directories");
    case UpperWorkRelation::WorkInsideUpper:
      return SysError::Invalid("work", work.path, "work must not be inside upper '" + upper.path + "'");
    case UpperWorkRelation::UpperInsideWork:
      return SysError::Invalid("upper", upper.path, "upper must not be inside work '" + work.path + "'");
  }
  return {};
}

// A directory inside the mounted image `slot`: detached, reached by its fd only.
Outcome<Layer> OpenInImage(const std::vector<ImageMount>& images, const ImageSpec& spec, const char* role, int index, int slot) {
  auto fd = OpenImageLayer(images[slot], spec, role, index);
  if (fd.error) return fd.error;
  Layer layer{spec.image, role, index, std::move(fd.value)};
  layer.detached = true;
  layer.image = slot;
  return layer;
}

// A layer slot: a directory, or a directory inside a mounted image.
Outcome<Layer> OpenSlot(const std::string& path, const char* role, int index, const std::vector<ImageMount>& images,
                        const std::vector<ImageSpec>* specs, int slot) {
  if (slot < 0) return OpenLayer(path, role, index);
  return OpenInImage(images, (*specs)[index], role, index, slot);
}

SysError OpenAll(const std::vector<std::string>& paths, const char* name, std::vector<Layer>* out, const std::vector<ImageMount>& images,
                 const std::vector<ImageSpec>& specs, const std::vector<int>& slots) {
  out->reserve(paths.size());
  for (size_t i = 0; i < paths.size(); i++) {
    int slot = i < slots.size() ? slots[i] : -1;
    auto layer = OpenSlot(paths[i], name, static_cast<int>(i), images, &specs, slot);
    if (layer.error) return layer.error;
    out->push_back(std::move(layer.value));
  }
  return {};
}

}  // namespace

UpperWorkRelation RelateUpperAndWork(int upperFd, int workFd) {
  Identity u, w;
  if (!Identify(upperFd, &u) || !Identify(workFd, &w)) return UpperWorkRelation::Unknown;
  bool sameMount = (u.mountId != 0 && w.mountId != 0) ? u.mountId == w.mountId : u.dev == w.dev;
  if (!sameMount) return UpperWorkRelation::DifferentMounts;
  if (u == w) return UpperWorkRelation::Same;
  if (IsInside(workFd, u)) return UpperWorkRelation::WorkInsideUpper;
  if (IsInside(upperFd, w)) return UpperWorkRelation::UpperInsideWork;
  return UpperWorkRelation::Separate;
}

Outcome<OpenedLayers> OpenLayers(const MountRequest& request) {
  OpenedLayers opened;
  ImageSlots slots;
  // Every image is mounted (detached) before any layer is opened in it; on
  // failure `opened` closes them all, and nothing of them stays.
  if (request.hasImages()) {
    if (auto e = MountImages(request, &opened.images, &slots)) return e;
  }
  if (auto e = OpenAll(request.lower, "lower", &opened.lower, opened.images, request.lowerImages, slots.lower)) return e;
  if (auto e = OpenAll(request.data, "data", &opened.data, opened.images, request.dataImages, slots.data)) return e;
  opened.hasUpper = !request.upper.empty();
  if (opened.hasUpper) {
    auto upper = slots.upper < 0 ? OpenLayer(request.upper, "upper") : OpenInImage(opened.images, request.upperImage, "upper", -1, slots.upper);
    if (upper.error) return upper.error;
    auto work = slots.work < 0 ? OpenLayer(request.work, "work") : OpenInImage(opened.images, request.workImage, "work", -1, slots.work);
    if (work.error) return work.error;
    if (auto e = CheckUpperAndWork(upper.value, work.value)) return e;
    const Layer& u = upper.value;
    const Layer& w = work.value;
    if (auto e = RefuseImageDirsInUse(request, u.fd.get(), u.image >= 0, w.fd.get(), w.image >= 0)) return e;
    opened.upper = std::move(upper.value);
    opened.work = std::move(work.value);
  }
  if (auto e = CheckLayerOverlap(opened)) return e;
  auto target = OpenLayer(request.target, "target");
  if (target.error) return target.error;
  opened.target = std::move(target.value);
  return opened;
}

}  // namespace ovl
