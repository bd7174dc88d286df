// The outcome of a system call, kept as plain data so a worker thread can
// carry it back to the main thread, where it becomes a JS OverlayError.
#pragma once

#include <cerrno>
#include <string>
#include <vector>

namespace ovl {

struct SysError {
  int errnum = 0;                   // positive errno; 0 means success
  std::string syscall;              // e.g. "fsconfig"
  std::string path;                 // the path concerned, if any
  std::string subject;              // what the message quotes, when not the path (an fsconfig key)
  std::string field;                // the request field at fault, e.g. "lower[3]"
  std::string reason;               // our own explanation, for checks made before the kernel
  std::vector<std::string> detail;  // the kernel's own words, from the fs_context log

  explicit operator bool() const { return errnum != 0; }

  // Captures errno at once: anything called after the failing syscall may clobber it.
  static SysError FromErrno(std::string syscall, std::string path = {}, std::string field = {}) {
    SysError e;
    e.errnum = errno;
    e.syscall = std::move(syscall);
    e.path = std::move(path);
    e.field = std::move(field);
    return e;
  }
  static SysError Invalid(std::string field, std::string path, std::string reason, int errnum = EINVAL) {
    SysError e;
    e.errnum = errnum;
    e.field = std::move(field);
    e.path = std::move(path);
    e.reason = std::move(reason);
    return e;
  }
};

// A directory the caller named that open(2) refused (errno as it left it),
// with the request field it came from; the two common reasons in words.
inline SysError NamedDirError(const std::string& field, const std::string& path) {
  SysError e = SysError::FromErrno("open", path, field);
  if (e.errnum == ENOENT) return SysError::Invalid(field, path, "'" + path + "' does not exist", ENOENT);
  if (e.errnum == ENOTDIR) return SysError::Invalid(field, path, "'" + path + "' is not a directory", ENOTDIR);
  return e;
}

// A result or the error that prevented it.
template <typename T>
struct Outcome {
  SysError error;
  T value{};

  Outcome() = default;
  Outcome(T v) : value(std::move(v)) {}  // NOLINT: implicit on purpose, `return value;`
  Outcome(SysError e) : error(std::move(e)) {}  // NOLINT
};

struct Nothing {};

}  // namespace ovl
