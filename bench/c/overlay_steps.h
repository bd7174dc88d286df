/*
 * The system calls the C references share, in the order the addon makes
 * them for its fsconfig-fd mechanism: open and check the layers, build a
 * detached overlay by fd, find mount ids. No error strings beyond die():
 * a reference that fails stops the bench. The helpers not every loop calls
 * are static inline: an unused one is then no warning.
 */
#ifndef OVERLAY_STEPS_H
#define OVERLAY_STEPS_H

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef SYS_fsopen
#define SYS_open_tree 428
#define SYS_move_mount 429
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif

#define MAX_LAYERS 512
#define MAX_WALK 4096

struct identity {
  dev_t dev;
  ino_t ino;
  unsigned long long mnt;
};

/* Opened layers of one overlay, checked as the addon checks them. */
struct layers {
  int lower[MAX_LAYERS];
  int nlower;
  int upper, work;
};

static void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(1);
}

static int open_dir(const char *path) {
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die(path);
  return fd;
}

static void identify(int fd, struct identity *out) {
  struct statx stx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &stx) != 0) die("statx");
  out->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
  out->ino = stx.stx_ino;
  out->mnt = stx.stx_mnt_id;
}

static unsigned long long mount_id(int fd) {
  struct identity id;
  identify(fd, &id);
  return id.mnt;
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

/* The id the kernel never reuses (6.8+): the addon records it for every mount it makes. */
static void unique_mount_id(int dirfd, const char *path, int flags) {
  struct statx stx;
  statx(dirfd, path, flags, STATX_MNT_ID_UNIQUE, &stx);
}

/* An unmount as a mount object makes it: the check that the target's top mount is its own, then umount2. */
static inline int umount_own(const char *target, int flags) {
  unique_mount_id(AT_FDCWD, target, 0);
  return (int)syscall(SYS_umount2, target, flags);
}

static int same(const struct identity *a, const struct identity *b) { return a->dev == b->dev && a->ino == b->ino; }

/* Is `outer` an ancestor of (or equal to) `inner`? Walks up to the mount root. */
static int is_inside(int inner, const struct identity *outer) {
  struct identity here, up;
  identify(inner, &here);
  int fd = inner, owned = -1;
  int found = 0;
  for (int i = 0; i < MAX_WALK; i++) {
    if (same(&here, outer)) { found = 1; break; }
    int parent = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0) die("openat ..");
    identify(parent, &up);
    if (same(&up, &here) || up.mnt != here.mnt) { close(parent); break; }
    if (owned >= 0) close(owned);
    owned = fd = parent;
    here = up;
  }
  if (owned >= 0) close(owned);
  return found;
}

/* The opened directory's path, as the addon reads it to find overlapping layers. */
static void real_path(int fd) {
  char link[64], buf[PATH_MAX + 1];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  if (readlink(link, buf, PATH_MAX) <= 0) die("readlink");
}

/* open(O_PATH) every layer; each one's real path; upper and work on one mount, distinct, not nested. */
static void open_layers(struct layers *l, const char *upper, const char *work, char **lower, int nlower) {
  if (nlower > MAX_LAYERS) { errno = E2BIG; die("too many layers"); }
  l->nlower = nlower;
  for (int i = 0; i < nlower; i++) l->lower[i] = open_dir(lower[i]);
  l->upper = open_dir(upper);
  l->work = open_dir(work);
  struct identity u, w;
  identify(l->upper, &u);
  identify(l->work, &w);
  if (u.mnt != w.mnt || same(&u, &w)) { errno = EINVAL; die("upper/work"); }
  if (is_inside(l->work, &u) || is_inside(l->upper, &w)) { errno = EINVAL; die("nested upper/work"); }
  for (int i = 0; i < nlower; i++) real_path(l->lower[i]);
  real_path(l->upper);
  real_path(l->work);
}

static void close_layers(struct layers *l) {
  close(l->work);
  close(l->upper);
  for (int i = 0; i < l->nlower; i++) close(l->lower[i]);
}

static int fs_config(int fd, unsigned cmd, const char *key, const void *value, int aux) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

/* fsopen .. fsmount with every layer by fd; reads the fs log once. Returns the detached mount's fd. */
static int create_overlay(const struct layers *l) {
  int fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) die("fsopen");
  if (fs_config(fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0) != 0) die("fsconfig source");
  for (int i = 0; i < l->nlower; i++) {
    if (fs_config(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, l->lower[i]) != 0) die("fsconfig lowerdir+");
  }
  if (fs_config(fsfd, FSCONFIG_SET_FD, "upperdir", NULL, l->upper) != 0) die("fsconfig upperdir");
  if (fs_config(fsfd, FSCONFIG_SET_FD, "workdir", NULL, l->work) != 0) die("fsconfig workdir");
  if (fs_config(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) die("fsconfig create");
  int mntfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
  if (mntfd < 0) die("fsmount");
  char log[4096];
  while (read(fsfd, log, sizeof(log) - 1) > 0) {
  }
  close(fsfd);
  return mntfd;
}

static int move_mount_fds(int from, int to, unsigned flags) {
  return (int)syscall(SYS_move_mount, from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH | flags);
}

/* The whole of one mount as the addon makes it, onto `target`. */
static inline void mount_once(const char *target, const char *upper, const char *work, char **lower, int nlower) {
  struct layers l;
  open_layers(&l, upper, work, lower, nlower);
  int targetfd = open_dir(target);
  int mntfd = create_overlay(&l);
  if (move_mount_fds(mntfd, targetfd, 0) != 0) die("move_mount");
  mount_id(mntfd);
  unique_mount_id(mntfd, "", AT_EMPTY_PATH);
  close(mntfd);
  close(targetfd);
  close_layers(&l);
}

#endif
