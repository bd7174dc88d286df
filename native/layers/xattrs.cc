// copyXattrs (and its *Sync twin): every extended attribute of an entry
// onto another, by path, the last component never followed (the l* calls;
// fgetxattr refuses an O_PATH fd, so a symlink has no fd form).
#include <sys/xattr.h>

#include <napi.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "util/args.h"
#include "util/pairs_to_js.h"
#include "util/twin.h"
#include "layers/xattrs.h"

namespace ovl {

SysError XattrError(const char* syscall, const std::string& path, const char* field, const std::string& name) {
  SysError e = SysError::FromErrno(syscall, path, field);
  e.subject = name;
  return e;
}

namespace {

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

}  // namespace

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
