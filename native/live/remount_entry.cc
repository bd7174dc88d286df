// remountOverlay / remountOverlaySync: changes an overlay's mount flags,
// read-only state and propagation, never its layers. Per-mount flags with
// mount_setattr (5.12+), the superblock's ro/rw with fspick and
// FSCONFIG_CMD_RECONFIGURE (5.2+), and mount(2) MS_REMOUNT where those are missing.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <napi.h>

#include <cerrno>

#include "core/mount_flags.h"
#include "core/mount_request.h"
#include "inspect/mount_root.h"
#include "mount/propagation.h"
#include "util/args.h"
#include "util/sys.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct RemountRequest {
  std::string target;
  MountFlagChanges flags;
  Propagation propagation = Propagation::Keep;
  bool useMount2 = false;  // force the mount(2) fallback (tests, old kernels)

  // `mount -o remount` with nothing else reconfigures the superblock as it is.
  bool reconfiguresSuperblock() const { return flags.readOnly != Change::Keep || (!flags.any() && propagation == Propagation::Keep); }
};

struct RemountResult {
  std::string mechanism;  // "new-api" or "mount"
};

// --- the new API ---

struct mount_attr MountAttrFor(const RemountRequest& r) {
  KernelFlagBits bits = ToKernelBits(r.flags);
  struct mount_attr attr {};
  attr.attr_set = bits.attrSet;
  attr.attr_clr = bits.attrClear;
  attr.propagation = PropagationFlag(r.propagation);
  return attr;
}

// The superblock as `mount -o remount,ro` changes it; Keep reconfigures it with no flag given.
SysError ReconfigureSuperblock(int rootFd, Change readOnly, const std::string& path) {
  UniqueFd fs(sys::fspick(rootFd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC));
  if (!fs.valid()) return SysError::FromErrno("fspick", path, "target");
  if (readOnly != Change::Keep) {
    const char* flag = readOnly == Change::Set ? "ro" : "rw";
    if (sys::fsconfig(fs.get(), FSCONFIG_SET_FLAG, flag, nullptr, 0) != 0) {
      SysError e = SysError::FromErrno("fsconfig", path, "readOnly");
      e.subject = flag;
      return e;
    }
  }
  if (sys::fsconfig(fs.get(), FSCONFIG_CMD_RECONFIGURE, nullptr, nullptr, 0) != 0) {
    SysError e = SysError::FromErrno("fsconfig", path, "readOnly");
    e.subject = "reconfigure";
    return e;
  }
  return {};
}

bool IsReadOnlyNow(int rootFd) {
  struct statvfs st {};
  return ::fstatvfs(rootFd, &st) == 0 && (st.f_flag & ST_RDONLY);
}

SysError RemountWithNewApi(const RemountRequest& r, int rootFd) {
  bool wasReadOnly = IsReadOnlyNow(rootFd);
  if (r.reconfiguresSuperblock()) {
    // fspick starts from no flags: an unchanged read-only state must be restated, as
    // mount(8) does from mountinfo (overlay without upper refuses anything else).
    Change readOnly = r.flags.readOnly != Change::Keep ? r.flags.readOnly : wasReadOnly ? Change::Set : Change::Keep;
    if (auto e = ReconfigureSuperblock(rootFd, readOnly, r.target)) return e;
  }
  struct mount_attr attr = MountAttrFor(r);
  if (attr.attr_set == 0 && attr.attr_clr == 0 && attr.propagation == 0) return {};
  if (sys::mount_setattr(rootFd, "", AT_EMPTY_PATH, &attr) == 0) return {};
  SysError e = SysError::FromErrno("mount_setattr", r.target, "target");
  // Leave the superblock writable as it was: the request failed as a whole.
  if (r.flags.readOnly == Change::Set && !wasReadOnly) ReconfigureSuperblock(rootFd, Change::Clear, r.target);
  return e;
}

// --- mount(2) ---

// MS_REMOUNT replaces all per-mount flags: start from the current ones.
unsigned long CurrentFlags(int rootFd) {
  struct statvfs st {};
  if (::fstatvfs(rootFd, &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  else if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  else flags |= MS_STRICTATIME;
  return flags;
}

SysError RemountWithMount2(const RemountRequest& r, int rootFd) {
  // The fd's magic link names exactly this overlay's root, whatever is mounted above it later.
  std::string path = FdPath(rootFd);
  KernelFlagBits bits = ToKernelBits(r.flags);
  unsigned long flags = (CurrentFlags(rootFd) & ~bits.msClear) | bits.msSet;
  if (r.reconfiguresSuperblock() || r.flags.any()) {
    // Without MS_BIND it reconfigures the superblock too, as `mount -o remount` does.
    unsigned long how = r.reconfiguresSuperblock() ? MS_REMOUNT : MS_REMOUNT | MS_BIND;
    if (::mount(nullptr, path.c_str(), nullptr, how | flags, nullptr) != 0) return SysError::FromErrno("mount", r.target, "target");
  }
  if (r.propagation != Propagation::Keep && ::mount(nullptr, path.c_str(), nullptr, PropagationFlag(r.propagation), nullptr) != 0) {
    return SysError::FromErrno("mount", r.target, "propagation");
  }
  return {};
}

Outcome<RemountResult> RunRemount(const RemountRequest& r) {
  auto root = OpenOverlayMountRoot(r.target, "target");
  if (root.error) return root.error;
  if (!r.useMount2) {
    SysError e = RemountWithNewApi(r, root.value.get());
    if (!e) return RemountResult{"new-api"};
    if (e.errnum != ENOSYS) return e;
  }
  if (auto e = RemountWithMount2(r, root.value.get())) return e;
  return RemountResult{"mount"};
}

Change ChangeOf(Napi::Object obj, const char* key) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return Change::Keep;
  if (!v.IsBoolean()) throw Napi::TypeError::New(obj.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value() ? Change::Set : Change::Clear;
}

bool ParseRemountMechanism(const std::string& name, bool* useMount2) {
  if (name != "new-api" && name != "mount") return false;
  *useMount2 = name == "mount";
  return true;
}

RemountRequest ParseRemountRequest(const Napi::CallbackInfo& info) {
  Napi::Object obj = args::ObjectAt(info, 0, "remount request");
  RemountRequest r;
  r.target = args::String(obj, "target");
  r.flags.readOnly = ChangeOf(obj, "readOnly");
  r.flags.nosuid = ChangeOf(obj, "nosuid");
  r.flags.nodev = ChangeOf(obj, "nodev");
  r.flags.noexec = ChangeOf(obj, "noexec");
  r.flags.atime = args::EnumOf(obj, "atime", ParseAtime, Atime::Keep);
  r.propagation = args::EnumOf(obj, "propagation", ParsePropagation, Propagation::Keep);
  r.useMount2 = args::EnumOf(obj, "mechanism", ParseRemountMechanism, false);
  return r;
}

Napi::Value RemountResultToJs(Napi::Env env, const RemountResult& result) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("mechanism", result.mechanism);
  return out;
}

const Operation<RemountRequest, RemountResult> kRemountOverlay{"remountOverlay", ParseRemountRequest, RunRemount, RemountResultToJs};

}  // namespace

void InitRemount(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kRemountOverlay); }

}  // namespace ovl
