// A file descriptor that closes itself, so no error path can leak one.
#pragma once

#include <unistd.h>

#include <string>
#include <utility>

namespace ovl {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Hands the fd over (to JS, which closes it): this object no longer owns it.
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// "/proc/self/fd/N": a name for an opened file that fits any length limit
// and, for a mount's root, names exactly that mount.
inline std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace ovl
