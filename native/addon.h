// Registers every system-call family's exports; the shipped addon
// (addon.cc) and the test addon (test/test_addon.cc) both start here.
#pragma once

#include <napi.h>

namespace ovl {

void InitAddon(Napi::Env env, Napi::Object exports);

}  // namespace ovl
