// mountIdOfUnique / mountIdOfUniqueSync (for lib/image-record.ts): which mount (mountinfo's reusable id)
// carries a unique mount id (6.8+, never reused until reboot), if any is still
// mounted in this namespace. The image record (lib/image-record.ts) is keyed
// by the unique id, so it can never be taken for another mount's.
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include <napi.h>

#include "twin.h"

#ifndef SYS_statmount
#define SYS_statmount 457
#endif

namespace ovl {
namespace {

// The kernel's struct mnt_id_req (version 0) and the head of struct statmount.
struct MountIdRequest {
  uint32_t size;
  uint32_t spare;
  uint64_t mntId;
  uint64_t param;
};
struct StatmountHead {
  uint32_t size, mntOpts;
  uint64_t mask;
  uint32_t sbDevMajor, sbDevMinor;
  uint64_t sbMagic;
  uint32_t sbFlags, fsType;
  uint64_t mntId, mntParentId;
  uint32_t mntIdOld, mntParentIdOld;
  uint64_t rest[64];  // the remaining fields and room for strings we do not ask for
};
constexpr uint64_t kStatmountMntBasic = 0x2;

struct UniqueId {
  uint64_t id = 0;
};

UniqueId ParseUniqueId(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "unique mount id must be a number");
  return UniqueId{static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue())};
}

// 0: no such mount here (gone, or in another namespace).
Outcome<uint32_t> RunLookup(const UniqueId& r) {
  MountIdRequest req{sizeof(MountIdRequest), 0, r.id, kStatmountMntBasic};
  StatmountHead out{};
  if (::syscall(SYS_statmount, &req, &out, sizeof(out), 0) != 0) {
    if (errno == ENOENT) return 0u;
    return SysError::FromErrno("statmount");
  }
  return out.mntIdOld;
}

Napi::Value IdToJs(Napi::Env env, const uint32_t& id) { return Napi::Number::New(env, id); }

const Operation<UniqueId, uint32_t> kMountIdOfUnique{"mountIdOfUnique", ParseUniqueId, RunLookup, IdToJs};

}  // namespace

void InitImageRecordLookup(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kMountIdOfUnique); }

}  // namespace ovl
