// Reading arguments from JS. lib/ validates first with friendly messages;
// these checks are the backstop, so a bad call from elsewhere throws, never crashes.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

namespace ovl::args {

inline Napi::Object ObjectAt(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsObject()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an object");
  return info[i].As<Napi::Object>();
}

inline std::string StringAt(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

inline std::string String(Napi::Object obj, const char* key, bool required = true) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() && !required) return {};
  if (!v.IsString()) throw Napi::TypeError::New(obj.Env(), std::string(key) + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(obj.Env(), std::string(key) + " must not contain NUL");
  return s;
}

inline bool Bool(Napi::Object obj, const char* key) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) throw Napi::TypeError::New(obj.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline std::vector<std::string> Strings(Napi::Object obj, const char* key) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return {};
  if (!v.IsArray()) throw Napi::TypeError::New(obj.Env(), std::string(key) + " must be an array of strings");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsString()) throw Napi::TypeError::New(obj.Env(), std::string(key) + "[" + std::to_string(i) + "] must be a string");
    out.push_back(item.As<Napi::String>().Utf8Value());
  }
  return out;
}

}  // namespace ovl::args
