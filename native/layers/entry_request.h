// The request every whiteout and opaque operation shares: a path, taken
// beneath an optional root, and which overlay xattr namespace to use.
#pragma once

#include <napi.h>

#include <string>

#include "layers/resolve.h"
#include "util/args.h"

namespace ovl {

struct EntryRequest {
  std::string root;  // empty: no root, the path is used as given
  std::string path;
  bool userxattr = false;
  Resolver resolver = Resolver::Auto;
};

inline Resolver ParseResolverField(Napi::Object obj) {
  std::string name = args::String(obj, "resolver", false);
  Resolver resolver = Resolver::Auto;
  if (!name.empty() && !ParseResolver(name, &resolver)) throw Napi::TypeError::New(obj.Env(), "unknown resolver '" + name + "'");
  return resolver;
}

inline EntryRequest ParseEntryRequest(Napi::Object obj) {
  EntryRequest r;
  r.root = args::String(obj, "root", false);
  r.path = args::String(obj, "path");
  r.userxattr = args::Bool(obj, "userxattr");
  r.resolver = ParseResolverField(obj);
  return r;
}

// Resolves the request's entry and hands it to `act`, keeping the directory fd open meanwhile.
template <typename Act>
auto WithEntry(const EntryRequest& r, const char* field, Act act) -> decltype(act(Entry{})) {
  auto resolver = EntryResolver::Open(r.root, r.resolver);
  if (resolver.error) return resolver.error;
  auto entry = resolver.value.Find(r.path, field);
  if (entry.error) return entry.error;
  return act(entry.value);
}

}  // namespace ovl
