#include "mount/idmap/userns.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "util/raw_syscall.h"

namespace ovl {
namespace {

// The child shares this process's memory (CLONE_VM): copying the page tables
// of a large Node process would be most of an idmapped mount's cost. Sharing
// memory without being a thread glibc knows of, it must not touch glibc's
// state: it has no TLS of its own (no CLONE_SETTLS), so errno, which every
// glibc wrapper (syscall() included) writes on failure, is the parent
// thread's; malloc, stdio and locks could find a lock the parent holds
// and corrupt or deadlock it. So it runs on its own stack with every signal
// blocked (no handler can run in it) and makes raw system calls by
// instruction only (util/raw_syscall.h): close its copy of the pipe's write
// end, block in read until the parent closes it, return. glibc's clone
// (2.25+, no pid cache) then ends it with a bare exit system call. The stack
// protector's canary is read, never written, from the parent's TLS, which
// stays mapped. Where no raw system call is written for the architecture,
// the child gets a copy of the memory instead (no CLONE_VM), where glibc's
// wrappers are safe.
constexpr size_t kChildStackSize = 64 * 1024;
constexpr int kShareMemory = raw::kHaveRawSyscall ? CLONE_VM : 0;

struct ChildPipe {
  int readEnd, writeEnd;
};

// Not instrumented: a sanitizer's stack bookkeeping lives in the parent thread's TLS.
__attribute__((no_sanitize("address", "undefined"))) int HoldNamespace(void* arg) {
  auto pipe = *static_cast<const ChildPipe*>(arg);
  if constexpr (raw::kHaveRawSyscall) {
    raw::Syscall3(SYS_close, pipe.writeEnd, 0, 0);  // its copy of the fd table would keep the pipe open forever
    char byte;
    raw::Syscall3(SYS_read, pipe.readEnd, reinterpret_cast<long>(&byte), 1);
  } else {
    ::close(pipe.writeEnd);
    char byte;
    while (::read(pipe.readEnd, &byte, 1) < 0 && errno == EINTR) {
    }
  }
  return 0;
}

// Owns the child: closing the pipe lets it exit; it is always reaped before its stack is freed.
class NamespaceHolder {
 public:
  NamespaceHolder(pid_t pid, UniqueFd writeEnd, void* stack) : pid_(pid), writeEnd_(std::move(writeEnd)), stack_(stack) {}
  NamespaceHolder(const NamespaceHolder&) = delete;
  NamespaceHolder& operator=(const NamespaceHolder&) = delete;
  ~NamespaceHolder() {
    writeEnd_.reset();
    int status;
    while (::waitpid(pid_, &status, __WALL) < 0 && errno == EINTR) {
    }
    ::munmap(stack_, kChildStackSize);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
  UniqueFd writeEnd_;
  void* stack_;
};

// clone(CLONE_NEWUSER | CLONE_VM) with all signals blocked in the child; -1 and errno on failure.
pid_t CloneHolder(void* stack, ChildPipe* pipe) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  char* top = static_cast<char*>(stack) + kChildStackSize;
  pid_t pid = ::clone(HoldNamespace, top, CLONE_NEWUSER | kShareMemory | SIGCHLD, pipe);
  int saved = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return pid;
}

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
  void* stack = ::mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return SysError::FromErrno("mmap", "", "idmap");

  ChildPipe pipe{readEnd.get(), writeEnd.get()};
  pid_t pid = CloneHolder(stack, &pipe);
  if (pid < 0) {
    SysError e = SysError::FromErrno("clone", "", "idmap");
    ::munmap(stack, kChildStackSize);
    return e;
  }
  NamespaceHolder child(pid, std::move(writeEnd), stack);
  readEnd.reset();

  if (auto e = WriteProcFile(child.pid(), "uid_map", uidMap, "idmap.uidMap")) return e;
  if (auto e = WriteProcFile(child.pid(), "gid_map", gidMap, "idmap.gidMap")) return e;
  std::string nsPath = "/proc/" + std::to_string(child.pid()) + "/ns/user";
  UniqueFd ns(::open(nsPath.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return SysError::FromErrno("open", nsPath, "idmap");
  return ns;
}

}  // namespace ovl
