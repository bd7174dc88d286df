// setOpaque / isOpaque / clearOpaque (and their *Sync twins): overlay.opaque
// on a directory, beneath an optional root, the directory never a symlink.
#include <napi.h>

#include "layers/entry_request.h"
#include "layers/overlay_xattr.h"
#include "util/twin.h"

namespace ovl {
namespace {

EntryRequest ParseDirRequest(const Napi::CallbackInfo& info) {
  return ParseEntryRequest(args::ObjectAt(info, 0, "opaque request"));
}

// Opens the directory the request names and hands its fd to `act`.
template <typename Act>
auto WithDirectory(const EntryRequest& r, Act act) -> decltype(act(Entry{}, 0)) {
  return WithEntry(r, "dir", [&](const Entry& entry) -> decltype(act(Entry{}, 0)) {
    auto dir = OpenDirectory(entry);
    if (dir.error) return dir.error;
    return act(entry, dir.value.get());
  });
}

Outcome<Nothing> RunSetOpaque(const EntryRequest& r) {
  return WithDirectory(r, [&](const Entry& entry, int fd) -> Outcome<Nothing> {
    if (auto e = WriteOpaque(fd, 'y', r.userxattr, entry)) return e;
    return Nothing{};
  });
}

Outcome<char> RunIsOpaque(const EntryRequest& r) {
  return WithDirectory(r, [&](const Entry& entry, int fd) { return ReadOpaque(fd, r.userxattr, entry); });
}

Outcome<Nothing> RunClearOpaque(const EntryRequest& r) {
  return WithDirectory(r, [&](const Entry& entry, int fd) -> Outcome<Nothing> {
    if (auto e = RemoveOpaque(fd, r.userxattr, entry)) return e;
    return Nothing{};
  });
}

// 'y' and 'x' as strings; absent or a value the kernel ignores is false.
Napi::Value OpaqueToJs(Napi::Env env, const char& value) {
  if (value == 'y' || value == 'x') return Napi::String::New(env, std::string(1, value));
  return Napi::Boolean::New(env, false);
}

const Operation<EntryRequest, Nothing> kSetOpaque{"setOpaque", ParseDirRequest, RunSetOpaque, UndefinedToJs};
const Operation<EntryRequest, char> kIsOpaque{"isOpaque", ParseDirRequest, RunIsOpaque, OpaqueToJs};
const Operation<EntryRequest, Nothing> kClearOpaque{"clearOpaque", ParseDirRequest, RunClearOpaque, UndefinedToJs};

}  // namespace

void InitOpaque(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kSetOpaque);
  ExportOperation(env, exports, kIsOpaque);
  ExportOperation(env, exports, kClearOpaque);
}

}  // namespace ovl
