// A filesystem context (fsopen .. fsmount) and its log: the kernel's own
// words on a failure of fsconfig or fsmount, which an errno alone does not
// carry. Both an overlay and an image's filesystem are made through one.
#pragma once

#include <string>
#include <vector>

#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

// Drains a filesystem context's log into the kernel's errors and warnings.
void ReadFsLog(int fsfd, std::vector<std::string>* errors, std::vector<std::string>* warnings);

class FsContext {
 public:
  explicit FsContext(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }

  // `error` with the log's messages, errors first, as its detail.
  SysError Fail(SysError error);

  // fsconfig of a string or a flag; a failure names `path` and `field` with the key as subject.
  SysError SetString(const char* key, const std::string& value, const std::string& path, const std::string& field);
  SysError SetFlag(const char* key, const std::string& path, const std::string& field);
  // FSCONFIG_CMD_CREATE; a failure has "create" as subject.
  SysError Create(const std::string& path, const std::string& field);

  // What fsconfig's failure is before its detail: errno captured, `key` the subject.
  static SysError FsconfigError(const char* key, const std::string& path, const std::string& field);

 private:
  UniqueFd fd_;
};

}  // namespace ovl
