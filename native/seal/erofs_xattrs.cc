#include "seal/erofs_xattrs.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "seal/erofs_format.h"

namespace ovl {
namespace {

struct Prefix {
  const char* text;
  uint8_t index;
  bool whole;  // the name must be the prefix itself (the ACLs)
};

constexpr Prefix kPrefixes[] = {
    {"user.", erofs::kXattrUser, false},
    {"trusted.", erofs::kXattrTrusted, false},
    {"security.", erofs::kXattrSecurity, false},
    {"system.posix_acl_access", erofs::kXattrAclAccess, true},
    {"system.posix_acl_default", erofs::kXattrAclDefault, true},
};

// The icount is 16 bits: (65535 - 1) * 4 + 12 bytes at most.
constexpr size_t kMaxBody = (0xFFFFu - 1) * 4 + erofs::kXattrHeaderSize;

}  // namespace

Outcome<std::string> XattrBody(XattrList xattrs, const std::string& path) {
  if (xattrs.empty()) return std::string();
  std::sort(xattrs.begin(), xattrs.end());
  std::string body(erofs::kXattrHeaderSize, '\0');
  for (const auto& [name, value] : xattrs) {
    const Prefix* prefix = nullptr;
    for (const auto& p : kPrefixes) {
      size_t n = std::strlen(p.text);
      if (name.compare(0, n, p.text) == 0 && (!p.whole || name.size() == n)) prefix = &p;
    }
    if (!prefix) return SysError::Invalid("source", path, "'" + path + "' has the xattr '" + name + "', which an EROFS image cannot hold (only user., trusted., security. and POSIX ACLs)", EOPNOTSUPP);
    std::string suffix = name.substr(std::strlen(prefix->text));
    if (suffix.size() > 0xFF || value.size() > 0xFFFF) return SysError::Invalid("source", path, "'" + path + "' has the xattr '" + name + "', too long for an EROFS image", E2BIG);
    uint8_t head[erofs::kXattrEntryHead];
    head[0] = static_cast<uint8_t>(suffix.size());
    head[1] = prefix->index;
    erofs::Put16(head + 2, static_cast<uint16_t>(value.size()));
    body.append(reinterpret_cast<const char*>(head), sizeof head);
    body += suffix;
    body += value;
    body.resize(erofs::RoundUp(body.size(), 4), '\0');
  }
  if (body.size() > kMaxBody) return SysError::Invalid("source", path, "'" + path + "' has more xattrs than an EROFS inode holds", E2BIG);
  return body;
}

uint16_t XattrCount(const std::string& body) {
  if (body.empty()) return 0;
  return static_cast<uint16_t>((body.size() - erofs::kXattrHeaderSize) / 4 + 1);
}

}  // namespace ovl
