// The addon's entry point: each system-call family registers its own exports.
#include <napi.h>

#include "js_error.h"

namespace ovl {
void InitMount(Napi::Env env, Napi::Object exports);
void InitUmount(Napi::Env env, Napi::Object exports);
void InitCheck(Napi::Env env, Napi::Object exports);
void InitWhiteout(Napi::Env env, Napi::Object exports);
void InitRemount(Napi::Env env, Napi::Object exports);
void InitReplace(Napi::Env env, Napi::Object exports);
void InitXattrs(Napi::Env env, Napi::Object exports);
void InitFileTimes(Napi::Env env, Napi::Object exports);
void InitLayerChanges(Napi::Env env, Napi::Object exports);
void InitLayerExport(Napi::Env env, Napi::Object exports);
}  // namespace ovl

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ovl::InitErrors(env, exports);
  ovl::InitMount(env, exports);
  ovl::InitUmount(env, exports);
  ovl::InitCheck(env, exports);
  ovl::InitWhiteout(env, exports);
  ovl::InitRemount(env, exports);
  ovl::InitReplace(env, exports);
  ovl::InitXattrs(env, exports);
  ovl::InitFileTimes(env, exports);
  ovl::InitLayerChanges(env, exports);
  ovl::InitLayerExport(env, exports);
  return exports;
}

NODE_API_MODULE(overlay_native, Init)
