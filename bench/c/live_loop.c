/*
 * The physical limits for the live operations, with the system calls the
 * addon makes for them (fsconfig-fd mechanism), in a C loop.
 *
 * live_loop replace ITERATIONS TARGET UPPER_A WORK_A UPPER_B WORK_B LOWER...
 *   Mounts stack A on TARGET, then replaces it ITERATIONS times, B, A, B...
 *   (two uppers: one upper in two live overlays at once is refused or
 *   warned about by the kernel). Per replacement, the library's calls one
 *   for one (compared with strace): statx the target's unique mount id (the
 *   mount object's own check); the checks made in JavaScript (the target's
 *   real path, an lstat per component; mountinfo read; stat of the old
 *   upper and work and the new work and upper); open the target, statx it
 *   (a mount root?) and fstatfs it (an overlay?); open and check the new
 *   layers; open the target; fsopen .. fsmount; its propagation set;
 *   statx both mounts' ids, the target opened and compared (still the old
 *   one on top?); move_mount beneath the running overlay; open the target
 *   again and compare mount ids; umount2(MNT_DETACH) the old one by its fd;
 *   the propagation set again; statx the new mount's ids. Unmounts the last
 *   stack at the end (not timed).
 *
 * live_loop idmap ITERATIONS TARGET UPPER WORK LOWER...
 *   ITERATIONS mount+umount of an overlay whose lower layers are idmapped
 *   0:100000:65536 for uids and gids: per mount, a child in a new user
 *   namespace (clone with CLONE_VM, as the addon does, uid_map and gid_map
 *   written, its ns/user opened, then reaped) and per lower layer open_tree(OPEN_TREE_CLONE) + mount_setattr
 *   (MOUNT_ATTR_IDMAP), handed to overlay by fd.
 *
 * Prints the timed loop's wall time in nanoseconds.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>

#include "overlay_steps.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif
#define OVERLAY_MAGIC 0x794c7630
#ifndef MS_PRIVATE
#define MS_PRIVATE (1 << 18)
#endif

static int umount2(const char *target, int flags) { return (int)syscall(SYS_umount2, target, flags); }

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int open_overlay_root(const char *target) {
  int fd = open_dir(target);
  struct statx stx;
  if (statx(fd, "", AT_EMPTY_PATH, 0, &stx) != 0) die("statx target");
  if (!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) { errno = EINVAL; die("target is not a mount root"); }
  struct statfs fs;
  if (fstatfs(fd, &fs) != 0) die("fstatfs");
  if (fs.f_type != OVERLAY_MAGIC) { errno = EINVAL; die("target is not an overlay"); }
  return fd;
}

/* What replace checks in JavaScript before the addon's call, in its order:
 * the overlays mountinfo shows, the target's real path (an lstat per
 * component, as fs.realpathSync walks it), the device and inode of the old
 * stack's upper and work, and of the new upper and work with their parents. */
static void check_live_stack(const char *target, const char *old_upper, const char *old_work, const char *upper, const char *work) {
  char prefix[PATH_MAX];
  struct statx stx; /* Node's stat and lstat are statx calls */
  int info = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (info < 0) die("mountinfo");
  char buf[8192];
  while (read(info, buf, sizeof(buf)) > 0) {
  }
  close(info);
  for (const char *slash = strchr(target + 1, '/');; slash = strchr(slash + 1, '/')) {
    size_t n = slash ? (size_t)(slash - target) : strlen(target);
    memcpy(prefix, target, n);
    prefix[n] = '\0';
    if (statx(AT_FDCWD, prefix, AT_SYMLINK_NOFOLLOW, STATX_ALL, &stx) != 0) die("lstat");
    if (!slash) break;
  }
  /* The live stack's upper and work, then the new upper and work each with
   * its parents (path + "/..") while they lie on a held directory's device
   * and were not met yet: is the new one inside a held one? */
  struct statx held[2];
  if (statx(AT_FDCWD, old_upper, 0, STATX_ALL, &held[0]) != 0) die("stat layer");
  if (statx(AT_FDCWD, old_work, 0, STATX_ALL, &held[1]) != 0) die("stat layer");
  struct { unsigned maj, min; unsigned long long ino; } seen[64];
  int nseen = 0;
  const char *mine[] = {upper, work};
  for (int i = 0; i < 2; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", mine[i]);
    for (;;) {
      if (statx(AT_FDCWD, path, 0, STATX_ALL, &stx) != 0) die("stat layer");
      int onHeld = 0, met = 0;
      for (int h = 0; h < 2; h++) onHeld |= stx.stx_dev_major == held[h].stx_dev_major && stx.stx_dev_minor == held[h].stx_dev_minor;
      for (int k = 0; k < nseen; k++) met |= seen[k].maj == stx.stx_dev_major && seen[k].min == stx.stx_dev_minor && seen[k].ino == stx.stx_ino;
      if (!onHeld || met || nseen == 64 || strlen(path) + 4 >= sizeof(path)) break;
      seen[nseen].maj = stx.stx_dev_major;
      seen[nseen].min = stx.stx_dev_minor;
      seen[nseen++].ino = stx.stx_ino;
      strcat(path, "/..");
    }
  }
}

/* The mount's propagation set as the old one's (private here), before the move and once it is done. */
static void set_private(int mnt) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.propagation = MS_PRIVATE;
  if (syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) die("mount_setattr");
}

static void replace_once(const char *target, const char *upper, const char *work, const char *old_upper, const char *old_work, char **lower, int nlower) {
  unique_mount_id(AT_FDCWD, target, 0); /* the mount object's check that the target is its own */
  check_live_stack(target, old_upper, old_work, upper, work);
  int old = open_overlay_root(target);
  struct layers l;
  open_layers(&l, upper, work, lower, nlower);
  int targetfd = open_dir(target);
  int mnt = create_overlay(&l);
  set_private(mnt);
  unsigned long long old_id = mount_id(old);
  mount_id(mnt);
  int before = open_dir(target); /* still the old one on top, just before the move */
  if (mount_id(before) != old_id) { errno = EBUSY; die("another mount on top"); }
  close(before);
  if (move_mount_fds(mnt, old, MOVE_MOUNT_BENEATH) != 0) die("move_mount beneath");
  int top = open_dir(target);
  if (mount_id(top) != old_id) { errno = EBUSY; die("another mount on top"); }
  close(top);
  char oldpath[64];
  snprintf(oldpath, sizeof(oldpath), "/proc/self/fd/%d", old);
  if (umount2(oldpath, MNT_DETACH) != 0) die("umount2 detach");
  set_private(mnt);
  mount_id(mnt);
  unique_mount_id(mnt, "", AT_EMPTY_PATH);
  close(mnt);
  close(targetfd);
  close(old);
  close_layers(&l);
}

static int run_replace(long iterations, char **argv, int argc) {
  if (argc < 6) return -1;
  const char *target = argv[0];
  const char *upper[2] = {argv[1], argv[3]}, *work[2] = {argv[2], argv[4]};
  char **lower = argv + 5;
  int nlower = argc - 5;
  mount_once(target, upper[0], work[0], lower, nlower);
  long long start = now_ns();
  for (long i = 0; i < iterations; i++) replace_once(target, upper[(i + 1) % 2], work[(i + 1) % 2], upper[i % 2], work[i % 2], lower, nlower);
  long long ns = now_ns() - start;
  if (umount2(target, 0) != 0) die("umount2");
  printf("%lld\n", ns);
  return 0;
}

static void write_map(pid_t pid, const char *name, const char *map) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  if (write(fd, map, strlen(map)) != (ssize_t)strlen(map)) die(path);
  close(fd);
}

#define CHILD_STACK (64 * 1024)

/* As the addon does it: the child shares memory (CLONE_VM), has its own stack and every signal blocked, and only waits for its pipe to close. */
static int hold_namespace(void *arg) {
  int *pipefd = arg;
  syscall(SYS_close, pipefd[1]);
  char byte;
  syscall(SYS_read, pipefd[0], &byte, 1);
  return 0;
}

/* A user namespace with the maps, held by a child only until its ns file is open. */
static int make_userns(const char *map) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) die("pipe2");
  void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) die("mmap");
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pid = clone(hold_namespace, (char *)stack + CHILD_STACK, CLONE_NEWUSER | CLONE_VM | SIGCHLD, pipefd);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid < 0) die("clone");
  close(pipefd[0]);
  write_map((pid_t)pid, "uid_map", map);
  write_map((pid_t)pid, "gid_map", map);
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die(path);
  close(pipefd[1]);
  int status;
  while (waitpid((pid_t)pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  munmap(stack, CHILD_STACK);
  return ns;
}

static void idmap_mount_once(const char *target, const char *upper, const char *work, char **lower, int nlower) {
  struct layers l;
  open_layers(&l, upper, work, lower, nlower);
  int ns = make_userns("0 100000 65536\n");
  for (int i = 0; i < l.nlower; i++) {
    int tree = (int)syscall(SYS_open_tree, l.lower[i], "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) die("open_tree");
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)ns};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) die("mount_setattr");
    close(l.lower[i]);
    l.lower[i] = tree;
  }
  close(ns);
  int targetfd = open_dir(target);
  int mnt = create_overlay(&l);
  if (move_mount_fds(mnt, targetfd, 0) != 0) die("move_mount");
  mount_id(mnt);
  unique_mount_id(mnt, "", AT_EMPTY_PATH);
  close(mnt);
  close(targetfd);
  close_layers(&l);
}

static int run_idmap(long iterations, char **argv, int argc) {
  if (argc < 4) return -1;
  long long start = now_ns();
  for (long i = 0; i < iterations; i++) {
    idmap_mount_once(argv[0], argv[1], argv[2], argv + 3, argc - 3);
    if (umount_own(argv[0], 0) != 0) die("umount2");
  }
  printf("%lld\n", now_ns() - start);
  return 0;
}

int main(int argc, char **argv) {
  int rc = -1;
  if (argc > 2 && strcmp(argv[1], "replace") == 0) rc = run_replace(strtol(argv[2], NULL, 10), argv + 3, argc - 3);
  if (argc > 2 && strcmp(argv[1], "idmap") == 0) rc = run_idmap(strtol(argv[2], NULL, 10), argv + 3, argc - 3);
  if (rc < 0) {
    fprintf(stderr,
            "usage: live_loop replace ITERATIONS TARGET UPPER_A WORK_A UPPER_B WORK_B LOWER...\n"
            "       live_loop idmap ITERATIONS TARGET UPPER WORK LOWER...\n");
    return 2;
  }
  return rc;
}
