// By path, the last component never followed (the l* calls; fgetxattr
// refuses an O_PATH fd, so a symlink has no fd form).
#include "layers/xattrs.h"

#include <sys/xattr.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

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

}  // namespace ovl
