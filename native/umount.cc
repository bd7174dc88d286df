// umountOverlay / umountOverlaySync: umount2 with the flags mount(8) offers.
#include <sys/mount.h>

#include <napi.h>

#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct UmountRequest {
  std::string target;
  int flags = 0;
};

// The flags come as one number, bits as lib/umount.ts packs them
// (a flags object would cost four named property reads on every unmount).
enum UmountFlagBits : unsigned { kDetach = 1, kForce = 2, kExpire = 4, kNoFollow = 8 };

UmountRequest ParseUmountRequest(const Napi::CallbackInfo& info) {
  UmountRequest r;
  r.target = args::StringAt(info, 0, "target");
  uint32_t bits = args::Uint32At(info, 1, "umount flags");
  if (bits & kDetach) r.flags |= MNT_DETACH;
  if (bits & kForce) r.flags |= MNT_FORCE;
  if (bits & kExpire) r.flags |= MNT_EXPIRE;
  if (bits & kNoFollow) r.flags |= UMOUNT_NOFOLLOW;
  return r;
}

Outcome<Nothing> RunUmount(const UmountRequest& r) {
  if (::umount2(r.target.c_str(), r.flags) != 0) return SysError::FromErrno("umount2", r.target, "target");
  return Nothing{};
}

const Operation<UmountRequest, Nothing> kUmountOverlay{"umountOverlay", ParseUmountRequest, RunUmount, UndefinedToJs};

}  // namespace

void InitUmount(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kUmountOverlay); }

}  // namespace ovl
