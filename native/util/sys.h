// Thin wrappers for the mount system calls that glibc 2.36 declares only in
// <sys/mount.h>, which clashes with <linux/mount.h>; we call them by number.
#pragma once

#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_fspick
#define SYS_fspick 433
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

// Newer than the 6.1 headers Debian 12 ships.
#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif

namespace ovl::sys {

inline int fsopen(const char* fsname, unsigned flags) {
  return static_cast<int>(::syscall(SYS_fsopen, fsname, flags));
}
inline int fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
inline int fsmount(int fd, unsigned flags, unsigned attrs) {
  return static_cast<int>(::syscall(SYS_fsmount, fd, flags, attrs));
}
inline int fspick(int dfd, const char* path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_fspick, dfd, path, flags));
}
inline int move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
  return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}
inline int open_tree(int dfd, const char* path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}
inline int mount_setattr(int dfd, const char* path, unsigned flags, struct mount_attr* attr) {
  return static_cast<int>(::syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr)));
}
inline int openat2(int dfd, const char* path, struct open_how* how) {
  return static_cast<int>(::syscall(SYS_openat2, dfd, path, how, sizeof(*how)));
}

}  // namespace ovl::sys
