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

// A JS string's UTF-8 bytes. Napi's Utf8Value asks V8 twice, for the length
// and then the bytes; a short string (most names and paths) is read in one
// call into a stack buffer. V8 writes only whole characters, so a result
// that ends more than 4 bytes before the buffer's end is the whole string.
inline std::string Utf8Of(Napi::Env env, Napi::Value v) {
  char small[256];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, small, sizeof small, &n) != napi_ok) throw Napi::Error::New(env);
  if (n + 4 < sizeof small - 1) return std::string(small, n);
  return v.As<Napi::String>().Utf8Value();
}

// A string argument; undefined reads as "" when it is optional.
// `name()` makes the argument's name, only for an error: an array of
// thousands of strings then costs no name string each.
template <typename Name>
std::string ToStringNamed(Napi::Env env, Napi::Value v, Name name, bool required = true) {
  if (v.IsUndefined() && !required) return {};
  if (!v.IsString()) throw Napi::TypeError::New(env, name() + " must be a string");
  std::string s = Utf8Of(env, v);
  if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(env, name() + " must not contain NUL");
  return s;
}

inline std::string ToString(Napi::Env env, Napi::Value v, const char* what, bool required = true) {
  return ToStringNamed(env, v, [what] { return std::string(what); }, required);
}

// A path given as a string or a Buffer (a name that is not UTF-8), as its
// bytes: non-empty and without NUL, which would cut it short at the kernel.
inline std::string PathBytes(Napi::Env env, Napi::Value v, const std::string& what) {
  std::string bytes;
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<char>>();
    bytes.assign(b.Data(), b.Length());
  } else if (v.IsString()) {
    bytes = v.As<Napi::String>().Utf8Value();
  } else {
    throw Napi::TypeError::New(env, what + " must be a string or a Buffer");
  }
  if (bytes.empty() || bytes.find('\0') != std::string::npos) throw Napi::TypeError::New(env, what + " must be a non-empty path without NUL");
  return bytes;
}

inline std::vector<std::string> ToStrings(Napi::Env env, Napi::Value v, const char* what) {
  if (v.IsUndefined()) return {};
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of strings");
  Napi::Array arr = v.As<Napi::Array>();
  uint32_t length = arr.Length();
  std::vector<std::string> out;
  out.reserve(length);
  for (uint32_t i = 0; i < length; i++) {
    Napi::Value item = arr.Get(i);
    out.push_back(ToStringNamed(env, item, [what, i] { return std::string(what) + "[" + std::to_string(i) + "]"; }));
  }
  return out;
}

// Positional arguments: info[i] is already in hand, where a named property
// costs a key string made and looked up by V8 on every read.
inline std::string StringAt(const Napi::CallbackInfo& info, size_t i, const char* what, bool required = true) {
  return ToString(info.Env(), info[i], what, required);
}

inline std::vector<std::string> StringsAt(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return ToStrings(info.Env(), info[i], what);
}

// Raw bytes from a Buffer, NULs and all.
inline std::string BytesAt(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsBuffer()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Buffer");
  auto bytes = info[i].As<Napi::Buffer<char>>();
  return std::string(bytes.Data(), bytes.Length());
}

inline uint32_t Uint32At(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().Uint32Value();
}

// A name parsed into its enum by `parse`; undefined is `absent`, any other name a TypeError.
template <typename Enum>
Enum ToEnum(Napi::Env env, Napi::Value v, const char* what, bool (*parse)(const std::string&, Enum*), Enum absent) {
  std::string name = ToString(env, v, what, false);
  if (name.empty()) return absent;
  Enum out = absent;
  if (!parse(name, &out)) throw Napi::TypeError::New(env, "unknown " + std::string(what) + " '" + name + "'");
  return out;
}

template <typename Enum>
Enum EnumAt(const Napi::CallbackInfo& info, size_t i, const char* what, bool (*parse)(const std::string&, Enum*), Enum absent) {
  return ToEnum(info.Env(), info[i], what, parse, absent);
}

template <typename Enum>
Enum EnumOf(Napi::Object obj, const char* key, bool (*parse)(const std::string&, Enum*), Enum absent) {
  return ToEnum(obj.Env(), obj.Get(key), key, parse, absent);
}

inline std::string String(Napi::Object obj, const char* key, bool required = true) {
  return ToString(obj.Env(), obj.Get(key), key, required);
}

inline bool Bool(Napi::Object obj, const char* key) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) throw Napi::TypeError::New(obj.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline std::vector<std::string> Strings(Napi::Object obj, const char* key) { return ToStrings(obj.Env(), obj.Get(key), key); }

}  // namespace ovl::args
