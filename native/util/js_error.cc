#include "util/js_error.h"

namespace ovl {
namespace {

struct AddonData {
  Napi::FunctionReference errorFactory;
};

AddonData* GetData(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  return data;
}

void SetIfPresent(Napi::Object obj, const char* key, const std::string& value) {
  if (!value.empty()) obj.Set(key, value);
}

void SetErrorFactory(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorFactory: expected a function");
  GetData(info.Env())->errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
}

}  // namespace

Napi::Value MakeJsError(Napi::Env env, const SysError& error) {
  Napi::Object fields = Napi::Object::New(env);
  fields.Set("errno", error.errnum);
  SetIfPresent(fields, "syscall", error.syscall);
  SetIfPresent(fields, "path", error.path);
  SetIfPresent(fields, "subject", error.subject);
  SetIfPresent(fields, "field", error.field);
  SetIfPresent(fields, "reason", error.reason);
  Napi::Array detail = Napi::Array::New(env, error.detail.size());
  for (size_t i = 0; i < error.detail.size(); i++) detail.Set(i, error.detail[i]);
  fields.Set("detail", detail);

  auto& factory = GetData(env)->errorFactory;
  if (factory.IsEmpty()) {
    // Only reachable if the addon is used without lib/core/native.ts; still say what failed.
    Napi::Error plain = Napi::Error::New(env, error.syscall + " failed with errno " + std::to_string(error.errnum));
    plain.Value().Set("info", fields);
    return plain.Value();
  }
  return factory.Call({fields});
}

void InitErrors(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
}

}  // namespace ovl
