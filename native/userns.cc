#include "userns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace ovl {
namespace {

// The child of a multi-threaded process may only make async-signal-safe
// calls: it waits for its pipe to close and exits, nothing else.
[[noreturn]] void ChildHoldNamespace(int readEnd, int writeEnd) {
  ::close(writeEnd);  // else its own copy would keep the pipe open forever
  char byte;
  while (::read(readEnd, &byte, 1) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

// Owns the child: closing the pipe lets it exit; it is always reaped.
class NamespaceHolder {
 public:
  NamespaceHolder(pid_t pid, UniqueFd writeEnd) : pid_(pid), writeEnd_(std::move(writeEnd)) {}
  NamespaceHolder(const NamespaceHolder&) = delete;
  NamespaceHolder& operator=(const NamespaceHolder&) = delete;
  ~NamespaceHolder() {
    writeEnd_.reset();
    int status;
    while (::waitpid(pid_, &status, __WALL) < 0 && errno == EINTR) {
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
  UniqueFd writeEnd_;
};

SysError WriteProcFile(pid_t pid, const char* name, const std::string& text, const char* field) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return SysError::FromErrno("open", path, field);
  // The kernel takes a map in one write only.
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return SysError::FromErrno("write", path, field);
  if (static_cast<size_t>(n) != text.size()) return SysError::Invalid(field, path, "the kernel took only part of the map", EIO);
  return {};
}

}  // namespace

Outcome<UniqueFd> MakeUserNamespace(const std::string& uidMap, const std::string& gidMap) {
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) return SysError::FromErrno("pipe2");
  UniqueFd readEnd(pipeFds[0]), writeEnd(pipeFds[1]);

  // A raw clone (no glibc fork handlers, no locks taken) that copies only this thread.
  long rc = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (rc < 0) return SysError::FromErrno("clone", "", "idmap");
  if (rc == 0) ChildHoldNamespace(readEnd.get(), writeEnd.get());
  NamespaceHolder child(static_cast<pid_t>(rc), std::move(writeEnd));
  readEnd.reset();

  if (auto e = WriteProcFile(child.pid(), "uid_map", uidMap, "idmap.uidMap")) return e;
  if (auto e = WriteProcFile(child.pid(), "gid_map", gidMap, "idmap.gidMap")) return e;
  std::string nsPath = "/proc/" + std::to_string(child.pid()) + "/ns/user";
  UniqueFd ns(::open(nsPath.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return SysError::FromErrno("open", nsPath, "idmap");
  return ns;
}

}  // namespace ovl
