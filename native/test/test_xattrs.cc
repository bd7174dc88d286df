// readXattrs / writeXattr (and their *Sync twins): the tests' way to set and
// read xattrs (the machine has no setfattr/getfattr); the library needs
// neither, so they live in the test addon only.
#include <sys/xattr.h>

#include <napi.h>

#include "layers/xattrs.h"
#include "util/args.h"
#include "util/pairs_to_js.h"
#include "util/twin.h"

namespace ovl {
namespace {

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

void InitTestXattrs(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kReadXattrs);
  ExportOperation(env, exports, kWriteXattr);
}

}  // namespace ovl
