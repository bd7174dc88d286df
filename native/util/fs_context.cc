#include "util/fs_context.h"

#include <unistd.h>

#include "util/sys.h"

namespace ovl {

// One message per read, ENODATA when empty. Messages look like
// "e overlay: reason"; the part after the level is kept.
void ReadFsLog(int fsfd, std::vector<std::string>* errors, std::vector<std::string>* warnings) {
  char buf[4096];
  for (int i = 0; i < 64; i++) {
    ssize_t n = ::read(fsfd, buf, sizeof(buf) - 1);
    if (n <= 0) break;
    std::string line(buf, static_cast<size_t>(n));
    while (!line.empty() && line.back() == '\n') line.pop_back();
    char level = line.size() > 2 && line[1] == ' ' ? line[0] : '?';
    std::string text = level == '?' ? line : line.substr(2);
    (level == 'e' ? errors : warnings)->push_back(text);
  }
}

SysError FsContext::Fail(SysError error) {
  std::vector<std::string> warnings;
  ReadFsLog(fd_.get(), &error.detail, &warnings);
  error.detail.insert(error.detail.end(), warnings.begin(), warnings.end());
  return error;
}

SysError FsContext::SetString(const char* key, const std::string& value, const std::string& path, const std::string& field) {
  if (sys::fsconfig(fd(), FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0) return {};
  return Fail(FsconfigError(key, path, field));
}

SysError FsContext::SetFlag(const char* key, const std::string& path, const std::string& field) {
  if (sys::fsconfig(fd(), FSCONFIG_SET_FLAG, key, nullptr, 0) == 0) return {};
  return Fail(FsconfigError(key, path, field));
}

SysError FsContext::Create(const std::string& path, const std::string& field) {
  if (sys::fsconfig(fd(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) return {};
  return Fail(FsconfigError("create", path, field));
}

SysError FsContext::FsconfigError(const char* key, const std::string& path, const std::string& field) {
  SysError e = SysError::FromErrno("fsconfig", path, field);
  e.subject = key;
  return e;
}

}  // namespace ovl
