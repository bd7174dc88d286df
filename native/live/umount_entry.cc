// umountOverlay / umountOverlaySync: umount2 with the flags mount(8) offers.
// Given the identity of the mount the caller made, it unmounts only that
// mount: the check and the umount2 are adjacent system calls in one call,
// because the kernel offers no way to unmount a mount by its id.
#include <sys/mount.h>
#include <unistd.h>

#include <napi.h>

#include "images/image_record_file.h"
#include "inspect/mount_identity.h"
#include "util/args.h"
#include "util/flag_bits_to_js.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct UmountRequest {
  std::string target;
  int flags = 0;
  // The caller's own mount; both 0 means "whatever is mounted there".
  uint64_t ownId = 0, ownUnique = 0;
  // The record of its images (lib/images/image-record.ts), removed with it.
  std::string recordFile;
};

// What an owned unmount found on the target instead of its mount.
struct UmountResult {
  bool refused = false;
  MountIdentity found;
};

// The flags come as one number (a flags object would cost four named
// property reads on every unmount); the bits are defined here only, and
// exported as `umountFlagBits` for lib/live/umount.ts to pack with.
enum UmountFlagBits : unsigned { kDetach = 1, kForce = 2, kExpire = 4, kNoFollow = 8 };

Napi::Object UmountFlagBitsToJs(Napi::Env env) {
  return FlagBitsToJs(env, {{"detach", kDetach}, {"force", kForce}, {"expire", kExpire}, {"noFollow", kNoFollow}});
}

uint64_t OptionalIdAt(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info[i].IsUndefined()) return 0;
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  return static_cast<uint64_t>(info[i].As<Napi::Number>().DoubleValue());
}

UmountRequest ParseUmountRequest(const Napi::CallbackInfo& info) {
  UmountRequest r;
  r.target = args::StringAt(info, 0, "target");
  uint32_t bits = args::Uint32At(info, 1, "umount flags");
  if (bits & kDetach) r.flags |= MNT_DETACH;
  if (bits & kForce) r.flags |= MNT_FORCE;
  if (bits & kExpire) r.flags |= MNT_EXPIRE;
  if (bits & kNoFollow) r.flags |= UMOUNT_NOFOLLOW;
  r.ownId = OptionalIdAt(info, 2, "mount id");
  r.ownUnique = OptionalIdAt(info, 3, "unique mount id");
  r.recordFile = args::StringAt(info, 4, "record file", false);
  return r;
}

bool IsOwn(const UmountRequest& r, const MountIdentity& top) {
  if (!top.isRoot) return false;
  // The unique id when both sides have one; the short one is reused.
  if (r.ownUnique != 0 && top.unique != 0) return top.unique == r.ownUnique;
  return top.id == r.ownId;
}

Outcome<UmountResult> RunUmount(const UmountRequest& r) {
  UmountResult result;
  if (r.ownId != 0 || r.ownUnique != 0) {
    bool follow = !(r.flags & UMOUNT_NOFOLLOW);
    result.found = MountAt(r.target, follow, r.ownUnique != 0);
    // A unique id that does not match: read the short one too, to say what is there.
    if (result.found.unique != 0 && !IsOwn(r, result.found)) result.found = MountAt(r.target, follow);
    if (result.found.errnum != 0) {
      errno = result.found.errnum;
      return SysError::FromErrno("statx", r.target, "target");
    }
    if (!IsOwn(r, result.found)) {
      result.refused = true;
      return result;
    }
  }
  if (::umount2(r.target.c_str(), r.flags) != 0) return SysError::FromErrno("umount2", r.target, "target");
  // Best effort: the overlay is gone whatever happens here, and a listing removes a record it outlived.
  if (!r.recordFile.empty()) ::unlink(r.recordFile.c_str());
  return result;
}

// undefined once unmounted; [mountId, isMountRoot] of what an owned unmount found instead.
Napi::Value UmountResultToJs(Napi::Env env, const UmountResult& result) {
  if (!result.refused) return env.Undefined();
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(result.found.id)));
  out.Set(1u, Napi::Boolean::New(env, result.found.isRoot));
  return out;
}

const Operation<UmountRequest, UmountResult> kUmountOverlay{"umountOverlay", ParseUmountRequest, RunUmount, UmountResultToJs};

// [mountId, uniqueMountId, isMountRoot, record name] of the topmost mount at
// a path, as umount2 would find it; with a true second argument only the
// unique id where the kernel has one (mountId is then 0). The record name is
// the file its image record would have (image_record_file.h), for lib/live/umount.ts.
Napi::Value MountAtToJs(const Napi::CallbackInfo& info) {
  std::string path = args::StringAt(info, 0, "path");
  MountIdentity found = MountAt(path, true, info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value());
  if (found.errnum != 0) {
    errno = found.errnum;
    throw Napi::Error(info.Env(), MakeJsError(info.Env(), SysError::FromErrno("statx", path)));
  }
  Napi::Array out = Napi::Array::New(info.Env(), 4);
  out.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(found.id)));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(found.unique)));
  out.Set(2u, Napi::Boolean::New(info.Env(), found.isRoot));
  out.Set(3u, Napi::String::New(info.Env(), RecordName(found.unique, found.id, found.device)));
  return out;
}

}  // namespace

void InitUmount(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kUmountOverlay);
  exports.Set("mountAt", Napi::Function::New(env, MountAtToJs, "mountAt"));
  exports.Set("umountFlagBits", UmountFlagBitsToJs(env));
}

}  // namespace ovl
