// copyXattrs (and its *Sync twin): every extended attribute of an entry
// onto another, by path, the last component never followed (layers/xattrs.h).
#include <sys/xattr.h>

#include <napi.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "layers/xattrs.h"
#include "util/args.h"
#include "util/pairs_to_js.h"
#include "util/twin.h"

namespace ovl {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// What a destination may refuse for want of support or privilege, rather than fail on:
// no xattrs at all (ENOTSUP), or a namespace closed to the caller (EPERM: trusted.* unprivileged, user.* on a symlink).
bool IsRefusal(int errnum) { return errnum == ENOTSUP || errnum == EPERM; }

struct CopyRequest {
  std::string from;
  std::string to;
  std::string skipPrefix;  // names beginning with it stay behind; "" copies all
};

CopyRequest ParseCopyRequest(const Napi::CallbackInfo& info) {
  return {args::StringAt(info, 0, "from"), args::StringAt(info, 1, "to"), args::StringAt(info, 2, "skipPrefix", false)};
}

using Refusals = std::vector<std::pair<std::string, int>>;  // name, errno

// Refused names are returned for the caller to report; any other failure stops the copy.
Outcome<Refusals> RunCopy(const CopyRequest& r) {
  auto xattrs = ReadAllXattrs(r.from, "from");
  if (xattrs.error) return xattrs.error;
  Refusals refused;
  for (const auto& [name, value] : xattrs.value) {
    if (!r.skipPrefix.empty() && StartsWith(name, r.skipPrefix)) continue;
    if (::lsetxattr(r.to.c_str(), name.c_str(), value.data(), value.size(), 0) == 0) continue;
    if (!IsRefusal(errno)) return XattrError("lsetxattr", r.to, "to", name);
    refused.emplace_back(name, errno);
  }
  return refused;
}

Napi::Value RefusalsToJs(Napi::Env env, const Refusals& refused) {
  return PairsToJs(env, refused, [](Napi::Env env, int errnum) { return Napi::Number::New(env, errnum); });
}

const Operation<CopyRequest, Refusals> kCopyXattrs{"copyXattrs", ParseCopyRequest, RunCopy, RefusalsToJs};

}  // namespace

void InitXattrs(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kCopyXattrs);
}

}  // namespace ovl
