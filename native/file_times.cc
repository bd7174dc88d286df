// setTimes (and its Sync twin): an entry's atime and mtime to the nanosecond,
// by path, a symlink itself never followed. Node's utimes takes seconds as a
// double, which cannot hold today's times to the nanosecond.
#include <fcntl.h>
#include <sys/stat.h>

#include <napi.h>

#include <cmath>
#include <string>

#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct TimesRequest {
  std::string path;
  struct timespec times[2];  // atime, mtime
};

// [atimeSec, atimeNsec, mtimeSec, mtimeNsec]: whole numbers, nsec below 1e9.
TimesRequest ParseTimesRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TimesRequest r{args::StringAt(info, 0, "path"), {}};
  if (!info[1].IsArray() || info[1].As<Napi::Array>().Length() != 4) throw Napi::TypeError::New(env, "times must be [atimeSec, atimeNsec, mtimeSec, mtimeNsec]");
  Napi::Array parts = info[1].As<Napi::Array>();
  double v[4];
  for (uint32_t i = 0; i < 4; i++) {
    Napi::Value part = parts.Get(i);
    if (!part.IsNumber()) throw Napi::TypeError::New(env, "times must hold numbers");
    v[i] = part.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]) || ((i % 2) == 1 && (v[i] < 0 || v[i] >= 1e9))) throw Napi::TypeError::New(env, "times must be whole numbers, nanoseconds below 1e9");
  }
  r.times[0] = {static_cast<time_t>(v[0]), static_cast<long>(v[1])};
  r.times[1] = {static_cast<time_t>(v[2]), static_cast<long>(v[3])};
  return r;
}

Outcome<Nothing> RunSetTimes(const TimesRequest& r) {
  if (::utimensat(AT_FDCWD, r.path.c_str(), r.times, AT_SYMLINK_NOFOLLOW) != 0) return SysError::FromErrno("utimensat", r.path, "path");
  return Nothing{};
}

const Operation<TimesRequest, Nothing> kSetTimes{"setTimes", ParseTimesRequest, RunSetTimes, UndefinedToJs};

}  // namespace

void InitFileTimes(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kSetTimes); }

}  // namespace ovl
