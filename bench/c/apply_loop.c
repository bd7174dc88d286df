/*
 * The system calls `apply` makes to upgrade N stacks from one template to
 * another in one call, in a C loop: the floor for apply's bench row.
 *
 * apply_loop N FROM TO BASE STATE_FILE
 *   Stack i lives in BASE/i/{upper,work,merged}. Untimed: each stack is
 *   mounted over FROM with the work generation work/g1. Timed, as apply does
 *   it: take the lock (create + later unlink STATE_FILE.lock), read the record
 *   and the boot id, read /proc/self/mountinfo, look at every target (open,
 *   statx for the mount id and the unique mount id); per stack read the work
 *   directory and make work/g2; build every stack over TO detached (open and
 *   check the layers and the target, fsopen .. fsmount, statx the new mount);
 *   switch each (open the target and check it is an overlay and the one seen,
 *   move_mount beneath, check the old one is still on top, umount2, statx the
 *   new one); close them; read mountinfo again; remove every work/g1; write
 *   the record (a temporary file, fsync, rename). Untimed: unmount, remove g2.
 *
 * Prints the timed part's wall time in nanoseconds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <sys/vfs.h>
#include <time.h>

#include "overlay_steps.h"

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif
#define OVERLAY_MAGIC 0x794c7630
#define MAX_STACKS 1024

static int umount2(const char *target, int flags) { return (int)syscall(SYS_umount2, target, flags); }

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void read_whole(const char *path) {
  static char buf[1 << 16];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
  close(fd);
}

/* apply's identity of a mount: the short id and the unique one. */
static void identity(int fd, unsigned long long *id, unsigned long long *unique) {
  struct statx stx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) != 0) die("statx");
  *id = stx.stx_mnt_id;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &stx) != 0) die("statx");
  *unique = stx.stx_mnt_id;
}

static char paths[MAX_STACKS][4][512]; /* upper, work, merged, work generation */

static void path_of(char *out, const char *base, int i, const char *name) { snprintf(out, 512, "%s/%d/%s", base, i, name); }

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void mount_generation(int i, const char *lowerdir, const char *gen) {
  char work[512];
  snprintf(work, sizeof(work), "%s/%s", paths[i][1], gen);
  if (mkdir(work, 0700) != 0) die("mkdir generation");
  char *lower[1] = {(char *)lowerdir};
  mount_once(paths[i][2], paths[i][0], work, lower, 1);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: apply_loop N FROM TO BASE STATE_FILE\n");
    return 2;
  }
  int n = atoi(argv[1]);
  if (n < 1 || n > MAX_STACKS) { errno = EINVAL; die("N"); }
  const char *from = argv[2], *to = argv[3], *base = argv[4], *state = argv[5];
  for (int i = 0; i < n; i++) {
    path_of(paths[i][0], base, i, "upper");
    path_of(paths[i][1], base, i, "work");
    path_of(paths[i][2], base, i, "merged");
    mount_generation(i, from, "g1");
  }
  static int built[MAX_STACKS];
  long long start = now_ns();

  char lock[600], temp[600];
  snprintf(lock, sizeof(lock), "%s.lock", state);
  int lockfd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (lockfd < 0) die("lock");
  if (write(lockfd, "1", 1) != 1) die("write lock");
  close(lockfd);
  read_whole(state);
  read_whole("/proc/sys/kernel/random/boot_id");
  read_whole("/proc/self/mountinfo");
  unsigned long long seen[MAX_STACKS], seenUnique[MAX_STACKS], id, unique;
  for (int i = 0; i < n; i++) {
    int fd = open_dir(paths[i][2]);
    identity(fd, &seen[i], &seenUnique[i]);
    close(fd);
  }
  for (int i = 0; i < n; i++) {
    DIR *d = opendir(paths[i][1]);
    if (!d) die("opendir work");
    while (readdir(d)) {
    }
    closedir(d);
    snprintf(paths[i][3], 512, "%s/g2", paths[i][1]);
    if (mkdir(paths[i][3], 0700) != 0) die("mkdir g2");
  }
  for (int i = 0; i < n; i++) {
    struct layers l;
    char *lower[1] = {(char *)to};
    open_layers(&l, paths[i][0], paths[i][3], lower, 1);
    int target = open_dir(paths[i][2]);
    built[i] = create_overlay(&l);
    identity(built[i], &id, &unique);
    close(target);
    close_layers(&l);
  }
  for (int i = 0; i < n; i++) {
    int old = open_dir(paths[i][2]);
    struct statx stx;
    if (statx(old, "", AT_EMPTY_PATH, 0, &stx) != 0 || !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) die("not a mount root");
    struct statfs fs;
    if (fstatfs(old, &fs) != 0 || fs.f_type != OVERLAY_MAGIC) die("not an overlay");
    identity(old, &id, &unique);
    if (unique != seenUnique[i] || id != seen[i]) { errno = EBUSY; die("changed"); }
    if (move_mount_fds(built[i], old, MOVE_MOUNT_BENEATH) != 0) die("move_mount beneath");
    close(old);
    int top = open_dir(paths[i][2]);
    if (mount_id(top) != seen[i]) { errno = EBUSY; die("another mount on top"); }
    close(top);
    if (umount2(paths[i][2], 0) != 0) die("umount2");
    identity(built[i], &id, &unique);
  }
  for (int i = 0; i < n; i++) close(built[i]);
  read_whole("/proc/self/mountinfo");
  for (int i = 0; i < n; i++) {
    char old[600];
    snprintf(old, sizeof(old), "%s/g1", paths[i][1]);
    if (nftw(old, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) die("remove g1");
  }
  snprintf(temp, sizeof(temp), "%s.tmp", state);
  int rec = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (rec < 0) die("record");
  static char text[MAX_STACKS * 400];
  size_t len = 0;
  for (int i = 0; i < n; i++) len += (size_t)snprintf(text + len, 400, "{\"target\":\"%s\",\"mountId\":%llu}\n", paths[i][2], id);
  if (write(rec, text, len) != (ssize_t)len) die("write record");
  if (fsync(rec) != 0) die("fsync");
  close(rec);
  if (rename(temp, state) != 0) die("rename");
  unlink(lock);
  long long ns = now_ns() - start;

  for (int i = 0; i < n; i++) {
    if (umount2(paths[i][2], 0) != 0) die("umount2");
    if (nftw(paths[i][3], remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) die("remove g2");
  }
  printf("%lld\n", ns);
  return 0;
}
