// The test addon: the whole addon, built with OVERLAY_NATIVE_TEST so its
// failure points can be armed (util/fault.h), plus the exports only tests
// use. Built by CMakeLists.txt (overlay_native_test), never shipped.
#include <napi.h>

#include "addon.h"

namespace ovl {
void InitFaults(Napi::Env env, Napi::Object exports);
void InitMallocStats(Napi::Env env, Napi::Object exports);
}  // namespace ovl

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ovl::InitAddon(env, exports);
  ovl::InitFaults(env, exports);
  ovl::InitMallocStats(env, exports);
  return exports;
}

NODE_API_MODULE(overlay_native_test, Init)
