// readXattrs / writeXattr (and their *Sync twins): every extended attribute
// of an entry, and one set, by path, the last component never followed (the
// l* calls). commit reads an upper's entries' attributes into its layer tar,
// unpack's layer writer sets a layer's (lib/oci/layer-tar.ts,
// layer-writer.ts); the tests read and set them with the same calls (the
// machine has no setfattr/getfattr).
#include <sys/xattr.h>

#include <napi.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "util/args.h"
#include "util/pairs_to_js.h"
#include "util/sys_error.h"
#include "util/twin.h"

namespace ovl {
namespace {

using Xattr = std::pair<std::string, std::string>;  // name, value (bytes)

// An l*xattr failure, errno captured, naming the attribute.
SysError XattrError(const char* syscall, const std::string& path, const char* field, const std::string& name = {}) {
  SysError e = SysError::FromErrno(syscall, path, field);
  e.subject = name;
  return e;
}

// Asks the kernel for the size, then reads; a value that grew in between
// (ERANGE) is asked for again, so no fixed buffer caps a name list or a value.
// False leaves errno as the failing call set it.
template <typename Call>
bool ReadSized(Call call, std::string& out) {
  for (;;) {
    ssize_t size = call(nullptr, 0);
    if (size < 0) return false;
    out.assign(static_cast<size_t>(size), '\0');
    if (size == 0) return true;
    ssize_t n = call(&out[0], out.size());
    if (n >= 0) {
      out.resize(static_cast<size_t>(n));
      return true;
    }
    if (errno != ERANGE) return false;
  }
}

// A filesystem without xattrs has none to list.
Outcome<std::vector<std::string>> ListNames(const std::string& path, const char* field) {
  std::string list;
  if (!ReadSized([&](char* buf, size_t size) { return ::llistxattr(path.c_str(), buf, size); }, list)) {
    if (errno == ENOTSUP) return std::vector<std::string>{};
    return XattrError("llistxattr", path, field);
  }
  std::vector<std::string> names;
  for (size_t at = 0; at < list.size();) {
    size_t end = list.find('\0', at);
    if (end == std::string::npos) end = list.size();
    if (end > at) names.push_back(list.substr(at, end - at));
    at = end + 1;
  }
  return names;
}

// Every xattr of `path`; one removed between the listing and the read
// (ENODATA) is left out, a filesystem without xattrs has none.
Outcome<std::vector<Xattr>> ReadAllXattrs(const std::string& path, const char* field) {
  auto names = ListNames(path, field);
  if (names.error) return names.error;
  std::vector<Xattr> out;
  for (auto& name : names.value) {
    std::string value;
    if (!ReadSized([&](char* buf, size_t size) { return ::lgetxattr(path.c_str(), name.c_str(), buf, size); }, value)) {
      if (errno == ENODATA) continue;
      return XattrError("lgetxattr", path, field, name);
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

struct PathRequest {
  std::string path;
};

PathRequest ParsePathRequest(const Napi::CallbackInfo& info) { return {args::StringAt(info, 0, "path")}; }

Outcome<std::vector<Xattr>> RunRead(const PathRequest& r) { return ReadAllXattrs(r.path, "path"); }

Napi::Value XattrsToJs(Napi::Env env, const std::vector<Xattr>& xattrs) {
  return PairsToJs(env, xattrs, [](Napi::Env env, const std::string& value) { return Napi::Buffer<char>::Copy(env, value.data(), value.size()); });
}

struct WriteRequest {
  std::string path;
  std::string name;
  std::string value;
};

WriteRequest ParseWriteRequest(const Napi::CallbackInfo& info) {
  return {args::StringAt(info, 0, "path"), args::StringAt(info, 1, "name"), args::BytesAt(info, 2, "value")};
}

Outcome<Nothing> RunWrite(const WriteRequest& r) {
  if (::lsetxattr(r.path.c_str(), r.name.c_str(), r.value.data(), r.value.size(), 0) != 0) return XattrError("lsetxattr", r.path, "path", r.name);
  return Nothing{};
}

const Operation<PathRequest, std::vector<Xattr>> kReadXattrs{"readXattrs", ParsePathRequest, RunRead, XattrsToJs};
const Operation<WriteRequest, Nothing> kWriteXattr{"writeXattr", ParseWriteRequest, RunWrite, UndefinedToJs};

}  // namespace

void InitXattrs(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kReadXattrs);
  ExportOperation(env, exports, kWriteXattr);
}

}  // namespace ovl
