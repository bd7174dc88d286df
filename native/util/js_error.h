// Turns a SysError into the JS OverlayError, built by a factory that lib/
// hands us at load time, so every error is shaped like Node's fs errors.
#pragma once

#include <napi.h>

#include "util/sys_error.h"

namespace ovl {

Napi::Value MakeJsError(Napi::Env env, const SysError& error);

// Registers setErrorFactory(fn) on exports.
void InitErrors(Napi::Env env, Napi::Object exports);

}  // namespace ovl
