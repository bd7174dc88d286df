// [name, value] pairs as a JS array of two-element arrays, in order.
#pragma once

#include <napi.h>

#include <string>
#include <utility>
#include <vector>

namespace ovl {

template <typename Value, typename ValueToJs>
Napi::Value PairsToJs(Napi::Env env, const std::vector<std::pair<std::string, Value>>& pairs, ValueToJs valueToJs) {
  Napi::Array out = Napi::Array::New(env, pairs.size());
  for (size_t i = 0; i < pairs.size(); i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, pairs[i].first);
    pair.Set(1u, valueToJs(env, pairs[i].second));
    out.Set(i, pair);
  }
  return out;
}

}  // namespace ovl
