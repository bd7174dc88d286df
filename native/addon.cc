// The addon's entry point: each system-call family registers its own exports.
#include "addon.h"

#include "util/js_error.h"

namespace ovl {
void InitMount(Napi::Env env, Napi::Object exports);
void InitUmount(Napi::Env env, Napi::Object exports);
void InitCheck(Napi::Env env, Napi::Object exports);
void InitWhiteout(Napi::Env env, Napi::Object exports);
void InitOpaque(Napi::Env env, Napi::Object exports);
void InitRemount(Napi::Env env, Napi::Object exports);
void InitReplace(Napi::Env env, Napi::Object exports);
void InitLayerChanges(Napi::Env env, Napi::Object exports);
void InitLayerExport(Napi::Env env, Napi::Object exports);
void InitOciConvert(Napi::Env env, Napi::Object exports);
void InitOciTemps(Napi::Env env, Napi::Object exports);
void InitLayerSurvey(Napi::Env env, Napi::Object exports);
void InitApplyBuild(Napi::Env env, Napi::Object exports);
void InitApplySwitch(Napi::Env env, Napi::Object exports);
void InitImageRecordLookup(Napi::Env env, Napi::Object exports);

void InitAddon(Napi::Env env, Napi::Object exports) {
  InitErrors(env, exports);
  InitMount(env, exports);
  InitUmount(env, exports);
  InitCheck(env, exports);
  InitWhiteout(env, exports);
  InitOpaque(env, exports);
  InitRemount(env, exports);
  InitReplace(env, exports);
  InitApplyBuild(env, exports);
  InitApplySwitch(env, exports);
  InitLayerChanges(env, exports);
  InitLayerExport(env, exports);
  InitOciConvert(env, exports);
  InitOciTemps(env, exports);
  InitLayerSurvey(env, exports);
  InitImageRecordLookup(env, exports);
}
}  // namespace ovl

// The test addon has its own module entry (test/test_addon.cc).
#ifndef OVERLAY_NATIVE_TEST
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ovl::InitAddon(env, exports);
  return exports;
}

NODE_API_MODULE(overlay_native, Init)
#endif
