#include "images/image_layers.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "images/fsverity_digest.h"
#include "images/image_device.h"
#include "images/loop_device.h"
#include "util/fault.h"
#include "util/fs_context.h"
#include "util/sys.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

// Where each filesystem keeps its magic number (little-endian on disk).
constexpr off_t kSuperblockRead = 2048;
constexpr uint32_t kSquashfsMagic = 0x73717368;  // "hsqs" at 0
constexpr uint32_t kErofsMagic = 0xE0F5E1E2;     // at 1024
constexpr uint16_t kExtMagic = 0xEF53;           // at 1024 + 56 (ext2/3/4: the ext4 driver mounts all three)

uint32_t Le32(const unsigned char* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }
uint16_t Le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

std::string FieldOf(const char* role, int index) { return index < 0 ? role : std::string(role) + "[" + std::to_string(index) + "]"; }

// Whether erofs mounts a regular file without a loop device
// (CONFIG_EROFS_FS_BACKED_BY_FILE, 6.12+); learned from the first try.
enum class FileBacked { Unknown, Yes, No };
std::atomic<FileBacked> gErofsFileBacked{FileBacked::Unknown};

// Measured on the fd whose /proc/self/fd name the kernel is later given (as
// the loop device's backing file or erofs' own source): the bytes checked are
// the file mounted, not whatever a path names by then. A process that can
// write the file itself can still change it afterwards; only fs-verity on the
// image closes that.
SysError CheckDigest(const ImageSpec& spec, const std::string& field, int fd) {
  if (spec.digest.empty()) return {};
  auto measured = FsverityDigestOfFd(fd, spec.image);
  if (measured.error) {
    measured.error.field = field;
    return measured.error;
  }
  std::string actual = "sha256:" + DigestHex(measured.value);
  if (actual == spec.digest) return {};
  return SysError::Invalid(field + ".digest", spec.image, "the image's fs-verity digest is " + actual + ", not the " + spec.digest + " asked");
}

struct Pending {
  std::string image, field, type;
  UniqueFd fd;
  dev_t dev = 0;
  ino_t ino = 0;
  bool writable = false;
  std::string writableField;  // the first upper or work slot naming it
};

SysError Note(const ImageSpec& spec, const char* role, int index, bool writable, std::vector<Pending>* pending, int* slot) {
  std::string field = FieldOf(role, index);
  UniqueFd fd(::open(spec.image.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return SysError::FromErrno("open", spec.image, field);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return SysError::FromErrno("fstat", spec.image, field);
  if (!S_ISREG(st.st_mode)) {
    return SysError::Invalid(field, spec.image, "'" + spec.image + "' is not a regular file (an ext4, erofs or squashfs image)", S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  }
  if (auto e = CheckDigest(spec, field, fd.get())) return e;
  for (size_t i = 0; i < pending->size(); i++) {
    Pending& p = (*pending)[i];
    if (p.dev != st.st_dev || p.ino != st.st_ino) continue;
    if (!spec.type.empty() && !p.type.empty() && spec.type != p.type) {
      return SysError::Invalid(field, spec.image, "'" + spec.image + "' is named as '" + p.type + "' by " + p.field + " and as '" + spec.type + "' here");
    }
    if (p.type.empty()) p.type = spec.type;
    if (writable && p.writableField.empty()) p.writableField = field;
    p.writable = p.writable || writable;
    *slot = static_cast<int>(i);
    return {};
  }
  *slot = static_cast<int>(pending->size());
  pending->push_back(Pending{spec.image, field, spec.type, std::move(fd), st.st_dev, st.st_ino, writable, writable ? field : ""});
  return {};
}

// fsopen(type) with `source`, created and mounted detached; the kernel's
// words go into the error's detail. `writableSuperblock` false asks for a
// read-only superblock; the mount itself is read-only unless `writable`.
Outcome<UniqueFd> MountFilesystem(const std::string& type, const std::string& source, bool writable, const Pending& p, bool writableSuperblock) {
  UniqueFd fsfd(sys::fsopen(type.c_str(), FSOPEN_CLOEXEC));
  if (!fsfd.valid()) {
    SysError e = SysError::FromErrno("fsopen", p.image, p.field);
    e.subject = type;
    if (e.errnum == ENODEV) e.reason = "this kernel has no '" + type + "' filesystem (is its module loaded?)";
    return e;
  }
  FsContext ctx(std::move(fsfd));
  if (auto e = ctx.SetString("source", source, p.image, p.field)) return e;
  if (!writableSuperblock) {
    if (auto e = ctx.SetFlag("ro", p.image, p.field)) return e;
  }
  if (auto e = ctx.Create(p.image, p.field)) return e;
  UniqueFd mnt(sys::fsmount(ctx.fd(), FSMOUNT_CLOEXEC, writable ? 0 : MOUNT_ATTR_RDONLY));
  if (!mnt.valid()) {
    SysError e = SysError::FromErrno("fsmount", p.image, p.field);
    e.subject = type;
    return ctx.Fail(std::move(e));
  }
  return mnt;
}

Outcome<UniqueFd> MountFilesystem(const std::string& type, const std::string& source, bool writable, const Pending& p) {
  return MountFilesystem(type, source, writable, p, writable);
}

// Held from the look at the bound devices until the image's superblock
// holds its device, so two mounts of this package cannot both find none and
// bind one each. Shared for read-only layers (they may each bind a
// read-only device), exclusive for a writable one. Released at scope end:
// the image fd itself stays open longer.
class ImageLock {
 public:
  ImageLock(int fd, bool exclusive) : fd_(fd) {
    while (::flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0 && errno == EINTR) {
    }
  }
  ~ImageLock() { ::flock(fd_, LOCK_UN); }
  ImageLock(const ImageLock&) = delete;
  ImageLock& operator=(const ImageLock&) = delete;

 private:
  int fd_;
};

// Through a device someone already bound to the image (images/image_device.h): the
// kernel hands back the superblock mounted from it, if any. A read-only
// layer on a device whose superblock is mounted read-write takes that
// superblock (the kernel will not change a superblock's read-only state:
// EBUSY) and mounts it read-only.
SysError MountOnBoundDevice(const std::string& type, BoundLoop& loop, Pending& p, ImageMount* out) {
  std::string source = FdPath(loop.fd.get());
  auto mnt = MountFilesystem(type, source, p.writable, p);
  if (mnt.error && mnt.error.errnum == EBUSY) {
    if (p.writable) {
      SysError e = ReadOnlyElsewhere(std::move(mnt.error), loop, p.image);
      e.field = p.writableField;
      return e;
    }
    mnt = MountFilesystem(type, source, false, p, true);
  }
  if (mnt.error) return mnt.error;
  out->info.loop = loop.number;
  out->mount = std::move(mnt.value);
  return {};
}

SysError MountOne(Pending& p, ImageMount* out) {
  if (p.writable) {
    // Reopened through the fd, so it is the file already checked.
    UniqueFd rw(::open(FdPath(p.fd.get()).c_str(), O_RDWR | O_CLOEXEC));
    if (!rw.valid()) return SysError::FromErrno("open", p.image, p.field);
    p.fd = std::move(rw);
  }
  std::string type = p.type.empty() ? DetectImageType(p.fd.get()) : p.type;
  if (type.empty()) {
    return SysError::Invalid(p.field, p.image, "'" + p.image + "' holds no ext4, erofs or squashfs superblock (name its `type` to mount it as one)");
  }
  // erofs and squashfs have no write support at all: said here, before the
  // kernel's bare EROFS at overlay's create.
  if (p.writable && type != "ext4") {
    return SysError::Invalid(p.writableField, p.image, "the upper image must be a writable ext4 image; '" + p.image + "' holds " + type + ", which is read-only");
  }
  out->field = p.field;
  out->info.image = p.image;
  out->info.type = type;
  out->info.dev = p.dev;
  out->info.ino = p.ino;
  out->info.writable = p.writable;
  ImageLock lock(p.fd.get(), p.writable);
  auto bound = DeviceToReuse(p.dev, p.ino, p.writable, p.image, p.writable ? p.writableField : p.field);
  if (bound.error) return bound.error;
  if (bound.value.number >= 0) return MountOnBoundDevice(type, bound.value, p, out);
  if (type == "erofs" && !p.writable && gErofsFileBacked.load() != FileBacked::No) {
    auto mnt = MountFilesystem(type, FdPath(p.fd.get()), false, p);
    if (!mnt.error) {
      gErofsFileBacked.store(FileBacked::Yes);
      out->mount = std::move(mnt.value);
      return {};
    }
    // ENOTBLK: this erofs wants a block device ("Can't lookup blockdev").
    if (mnt.error.errnum != ENOTBLK) return mnt.error;
    gErofsFileBacked.store(FileBacked::No);
  }
  auto loop = AttachLoop(p.fd.get(), p.writable, p.image, p.field);
  if (loop.error) return loop.error;
  FaultAt("image.loop-attached");
  // The loop's own fd as source: no dependence on /dev; it stays open until
  // the filesystem holds the device, then autoclear ties the device to it.
  auto mnt = MountFilesystem(type, FdPath(loop.value.fd.get()), p.writable, p);
  if (mnt.error) return mnt.error;
  FaultAt("image.mounted");
  out->info.loop = loop.value.number;
  out->mount = std::move(mnt.value);
  return {};
}

}  // namespace

std::string DetectImageType(int fd) {
  unsigned char sb[kSuperblockRead] = {};
  ssize_t n = ::pread(fd, sb, sizeof(sb), 0);
  if (n >= 4 && Le32(sb) == kSquashfsMagic) return "squashfs";
  if (n >= 1028 && Le32(sb + 1024) == kErofsMagic) return "erofs";
  if (n >= 1082 && Le16(sb + 1024 + 56) == kExtMagic) return "ext4";
  return "";
}

SysError MountImages(const MountRequest& request, std::vector<ImageMount>* images, ImageSlots* slots) {
  std::vector<Pending> pending;
  auto noteAll = [&](const std::vector<ImageSpec>& specs, const char* role, std::vector<int>* out) -> SysError {
    out->assign(specs.size(), -1);
    for (size_t i = 0; i < specs.size(); i++) {
      if (!specs[i].given()) continue;
      if (auto e = Note(specs[i], role, static_cast<int>(i), false, &pending, &(*out)[i])) return e;
    }
    return {};
  };
  if (auto e = noteAll(request.lowerImages, "lower", &slots->lower)) return e;
  if (auto e = noteAll(request.dataImages, "data", &slots->data)) return e;
  if (request.upperImage.given()) {
    if (auto e = Note(request.upperImage, "upper", -1, true, &pending, &slots->upper)) return e;
  }
  if (request.workImage.given()) {
    if (auto e = Note(request.workImage, "work", -1, true, &pending, &slots->work)) return e;
  }
  images->resize(pending.size());
  for (size_t i = 0; i < pending.size(); i++) {
    if (auto e = MountOne(pending[i], &(*images)[i])) return e;
  }
  return {};
}

Outcome<UniqueFd> OpenImageLayer(const ImageMount& image, const ImageSpec& spec, const char* role, int index, bool create) {
  // Beneath the image's root, whatever its symlinks say: an image must not
  // reach into the host's tree.
  struct open_how how {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  const char* sub = spec.subdir.empty() ? "." : spec.subdir.c_str();
  int fd = sys::openat2(image.mount.get(), sub, &how);
  if (fd < 0 && errno == ENOENT && create && image.info.writable && (std::string(role) == "upper" || std::string(role) == "work")) {
    // The parent is opened beneath the root too, so mkdirat follows no symlink out.
    size_t slash = spec.subdir.rfind('/');
    std::string parent = slash == std::string::npos ? "." : spec.subdir.substr(0, slash);
    std::string base = slash == std::string::npos ? spec.subdir : spec.subdir.substr(slash + 1);
    UniqueFd dir(sys::openat2(image.mount.get(), parent.c_str(), &how));
    if (dir.valid() && (::mkdirat(dir.get(), base.c_str(), 0755) == 0 || errno == EEXIST)) fd = sys::openat2(image.mount.get(), sub, &how);
    else errno = dir.valid() ? errno : ENOENT;
  }
  if (fd < 0) {
    SysError e = SysError::FromErrno("openat2", spec.image + (spec.subdir.empty() ? "" : ":" + spec.subdir), FieldOf(role, index));
    if (e.errnum == EXDEV) e.reason = "'" + spec.subdir + "' leads out of the image '" + spec.image + "'";
    return e;
  }
  return UniqueFd(fd);
}

}  // namespace ovl
