// whiteout / whiteouts / isWhiteout (and their *Sync twins): whiteouts made
// and recognised inside a layer, beneath an optional root.
#include <napi.h>

#include "entry_request.h"
#include "util/twin.h"
#include "whiteout_fs.h"

namespace ovl {
namespace {

WhiteoutSpec ParseSpec(Napi::Object obj) {
  WhiteoutSpec spec;
  std::string kind = args::String(obj, "kind", false);
  if (kind == "xattr") spec.kind = WhiteoutKind::Xattr;
  else if (!kind.empty() && kind != "chardev") throw Napi::TypeError::New(obj.Env(), "unknown whiteout kind '" + kind + "'");
  spec.force = args::Bool(obj, "force");
  spec.userxattr = args::Bool(obj, "userxattr");
  return spec;
}

struct WhiteoutRequest {
  EntryRequest entry;
  WhiteoutSpec spec;
};

WhiteoutRequest ParseWhiteoutRequest(const Napi::CallbackInfo& info) {
  Napi::Object obj = args::ObjectAt(info, 0, "whiteout request");
  return {ParseEntryRequest(obj), ParseSpec(obj)};
}

Outcome<Nothing> RunWhiteout(const WhiteoutRequest& r) {
  return WithEntry(r.entry, "path", [&](const Entry& entry) -> Outcome<Nothing> {
    if (auto e = MakeWhiteout(entry, r.spec)) return e;
    return Nothing{};
  });
}

struct WhiteoutsRequest {
  std::string root;
  std::vector<std::string> paths;
  WhiteoutSpec spec;
  Resolver resolver = Resolver::Auto;
};

WhiteoutsRequest ParseWhiteoutsRequest(const Napi::CallbackInfo& info) {
  Napi::Object obj = args::ObjectAt(info, 0, "whiteouts request");
  WhiteoutsRequest r;
  r.root = args::String(obj, "root");
  if (r.root.empty()) throw Napi::TypeError::New(info.Env(), "root must not be empty");
  r.paths = args::Strings(obj, "paths");
  r.spec = ParseSpec(obj);
  r.resolver = ParseResolverField(obj);
  return r;
}

// In order, stopping at the first failure: the error's field says which
// (paths[k]); the whiteouts before it are made and stay.
Outcome<Nothing> RunWhiteouts(const WhiteoutsRequest& r) {
  auto resolver = EntryResolver::Open(r.root, r.resolver);
  if (resolver.error) return resolver.error;
  for (size_t i = 0; i < r.paths.size(); i++) {
    auto entry = resolver.value.Find(r.paths[i], "paths[" + std::to_string(i) + "]");
    if (entry.error) return entry.error;
    if (auto e = MakeWhiteout(entry.value, r.spec)) return e;
  }
  return Nothing{};
}

// ENOENT or ENOTDIR on the way means nothing is there, so no whiteout either.
Outcome<WhiteoutKind> RunIsWhiteout(const EntryRequest& r) {
  auto resolver = EntryResolver::Open(r.root, r.resolver);
  if (resolver.error) return resolver.error;
  auto entry = resolver.value.Find(r.path, "path");
  if (entry.error) {
    if (entry.error.errnum == ENOENT || entry.error.errnum == ENOTDIR) return WhiteoutKind::None;
    return entry.error;
  }
  return ProbeWhiteout(entry.value, r.userxattr);
}

EntryRequest ParseIsWhiteoutRequest(const Napi::CallbackInfo& info) {
  return ParseEntryRequest(args::ObjectAt(info, 0, "isWhiteout request"));
}

Napi::Value WhiteoutKindToJs(Napi::Env env, const WhiteoutKind& kind) {
  switch (kind) {
    case WhiteoutKind::Chardev: return Napi::String::New(env, "chardev");
    case WhiteoutKind::Xattr: return Napi::String::New(env, "xattr");
    default: return Napi::Boolean::New(env, false);
  }
}

const Operation<WhiteoutRequest, Nothing> kWhiteout{"whiteout", ParseWhiteoutRequest, RunWhiteout, UndefinedToJs};
const Operation<WhiteoutsRequest, Nothing> kWhiteouts{"whiteouts", ParseWhiteoutsRequest, RunWhiteouts, UndefinedToJs};
const Operation<EntryRequest, WhiteoutKind> kIsWhiteout{"isWhiteout", ParseIsWhiteoutRequest, RunIsWhiteout, WhiteoutKindToJs};

}  // namespace

void InitWhiteout(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kWhiteout);
  ExportOperation(env, exports, kWhiteouts);
  ExportOperation(env, exports, kIsWhiteout);
}

}  // namespace ovl
