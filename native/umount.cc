// umountOverlay / umountOverlaySync: umount2 with the flags mount(8) offers.
#include <sys/mount.h>

#include <napi.h>

#include "args.h"
#include "twin.h"

namespace ovl {
namespace {

struct UmountRequest {
  std::string target;
  int flags = 0;
};

UmountRequest ParseUmountRequest(const Napi::CallbackInfo& info) {
  UmountRequest r;
  r.target = args::StringAt(info, 0, "target");
  Napi::Object opts = args::ObjectAt(info, 1, "umount options");
  if (args::Bool(opts, "detach")) r.flags |= MNT_DETACH;
  if (args::Bool(opts, "force")) r.flags |= MNT_FORCE;
  if (args::Bool(opts, "expire")) r.flags |= MNT_EXPIRE;
  if (args::Bool(opts, "noFollow")) r.flags |= UMOUNT_NOFOLLOW;
  return r;
}

Outcome<Nothing> RunUmount(const UmountRequest& r) {
  if (::umount2(r.target.c_str(), r.flags) != 0) return SysError::FromErrno("umount2", r.target, "target");
  return Nothing{};
}

Napi::Value NothingToJs(Napi::Env env, const Nothing&) { return env.Undefined(); }

const Operation<UmountRequest, Nothing> kUmountOverlay{"umountOverlay", ParseUmountRequest, RunUmount, NothingToJs};

}  // namespace

void InitUmount(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kUmountOverlay); }

}  // namespace ovl
