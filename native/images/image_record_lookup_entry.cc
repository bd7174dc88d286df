// mountIdOfUnique / mountIdOfUniqueSync: which mount (mountinfo's reusable
// id) carries a unique mount id (6.8+, never reused until reboot), if any is
// still mounted in this namespace. The image record (lib/images/image-record.ts) is
// keyed by the unique id, so it can never be taken for another mount's; and
// OverlayMount.mounted asks it whether its own mount is still there.
#include <napi.h>

#include <cerrno>

#include "inspect/mount_identity.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct UniqueId {
  uint64_t id = 0;
};

UniqueId ParseUniqueId(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "unique mount id must be a number");
  return UniqueId{static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue())};
}

// 0: no such mount here (gone, or in another namespace).
Outcome<uint32_t> RunLookup(const UniqueId& r) {
  int errnum = 0;
  uint32_t id = MountIdOfUnique(r.id, &errnum);
  if (errnum != 0) {
    errno = errnum;
    return SysError::FromErrno("statmount");
  }
  return id;
}

Napi::Value IdToJs(Napi::Env env, const uint32_t& id) { return Napi::Number::New(env, id); }

const Operation<UniqueId, uint32_t> kMountIdOfUnique{"mountIdOfUnique", ParseUniqueId, RunLookup, IdToJs};

}  // namespace

void InitImageRecordLookup(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kMountIdOfUnique); }

}  // namespace ovl
