// System calls issued by instruction, without glibc: no errno written on
// failure, no thread-local state read or written, no lock taken. For code
// that runs where glibc's per-thread state is not its own (the CLONE_VM
// child of mount/idmap/userns.cc shares the parent thread's TLS). Only where the
// architecture's calling convention is written out below; kHaveRawSyscall
// says whether it is.
#pragma once

namespace ovl::raw {

#if defined(__x86_64__)
constexpr bool kHaveRawSyscall = true;
// Returns the kernel's value: -errno on failure.
__attribute__((always_inline)) inline long Syscall3(long number, long a, long b, long c) {
  long ret;
  asm volatile("syscall" : "=a"(ret) : "a"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
constexpr bool kHaveRawSyscall = true;
__attribute__((always_inline)) inline long Syscall3(long number, long a, long b, long c) {
  register long x8 asm("x8") = number;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}
#else
constexpr bool kHaveRawSyscall = false;
inline long Syscall3(long, long, long, long) { return -38; }  // -ENOSYS; never called (kHaveRawSyscall)
#endif

}  // namespace ovl::raw
