// A family's flag bits as the frozen object it exports ({ readOnly: 1, ... }):
// the C++ enum stays the one definition, and lib/ packs with what it reads.
#pragma once

#include <napi.h>

#include <initializer_list>
#include <utility>

namespace ovl {

inline Napi::Object FlagBitsToJs(Napi::Env env, std::initializer_list<std::pair<const char*, unsigned>> bits) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& [name, bit] : bits) out.Set(name, static_cast<double>(bit));
  out.Freeze();
  return out;
}

}  // namespace ovl
