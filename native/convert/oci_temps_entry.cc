// enterTempDir, moveOciExportUp, removeOciTemp (and their *Sync twins): the
// operations lib/convert/to-oci.ts runs on its temporaries (convert/oci_temps.h).
#include <napi.h>

#include <string>

#include "convert/oci_temps.h"
#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct TempRequest {
  std::string dir;   // the directory holding the temporaries
  std::string temp;  // a temporary's name in it (moveOciExportUp, removeOciTemp)
};

TempRequest ParseDirOnly(const Napi::CallbackInfo& info) { return {args::PathBytes(info.Env(), info[0], "dir"), {}}; }

TempRequest ParseDirAndTemp(const Napi::CallbackInfo& info) {
  TempRequest r{args::PathBytes(info.Env(), info[0], "dir"), args::PathBytes(info.Env(), info[1], "temp")};
  if (!IsOciTempName(r.temp)) throw Napi::TypeError::New(info.Env(), "temp must be the name of an .ovl-oci- temporary");
  return r;
}

Outcome<int> RunEnterTempDir(const TempRequest& r) { return EnterOciTempDir(r.dir); }

Outcome<Nothing> RunMoveUp(const TempRequest& r) {
  if (auto e = MoveOciExportUp(r.dir, r.temp)) return e;
  return Nothing{};
}

Outcome<Nothing> RunRemoveTemp(const TempRequest& r) {
  if (auto e = RemoveOciTemp(r.dir, r.temp)) return e;
  return Nothing{};
}

Napi::Value FdToJs(Napi::Env env, const int& fd) { return Napi::Number::New(env, fd); }

const Operation<TempRequest, int> kEnterTempDir{"enterTempDir", ParseDirOnly, RunEnterTempDir, FdToJs};
const Operation<TempRequest, Nothing> kMoveUp{"moveOciExportUp", ParseDirAndTemp, RunMoveUp, UndefinedToJs};
const Operation<TempRequest, Nothing> kRemoveTemp{"removeOciTemp", ParseDirAndTemp, RunRemoveTemp, UndefinedToJs};

}  // namespace

void InitOciTemps(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kEnterTempDir);
  ExportOperation(env, exports, kMoveUp);
  ExportOperation(env, exports, kRemoveTemp);
}

}  // namespace ovl
