/*
 * Whiteouts in one directory, making the system calls whiteoutsSync makes,
 * in the same order (compared with strace -f for 20,000 names), names
 * w0000000 ... in the same form the Node side uses.
 *   chardev  per name mknodat(S_IFCHR, 0/0): the kernel's EEXIST is the check
 *            that the name is free, and nothing else is needed.
 *   xattr    the directory entered as the library enters a directory where
 *            it makes temporaries (flock exclusive, its names read for a
 *            killed process's leftovers, flock shared), its opaque mark read
 *            and set to 'x' once; per name a temporary made O_EXCL, the
 *            whiteout xattr set on it, renamed into place RENAME_NOREPLACE.
 *   force    over existing names: entered the same way; per name two hard
 *            links kept of the entry (the undo), a temporary 0/0 made and
 *            renamed over the name; at the end per name the first backup
 *            looked at, both unlinked.
 *   files    not timed against anything: makes COUNT empty files, so the
 *            bench can give force something to replace.
 * Usage: whiteout_loop DIRECTORY COUNT [chardev|xattr|force|files]
 * Prints the loop's total wall time in nanoseconds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *name) {
  fprintf(stderr, "whiteout_loop: %s %s: %s\n", what, name, strerror(errno));
  exit(1);
}

static uint64_t temp_state;

/* Temporary names as the library draws them: `.ovl-wh-` and 8 of [a-z0-9]. */
static void temp_name(char *out) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t z = (temp_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  memcpy(out, ".ovl-wh-", 8);
  for (int i = 0; i < 8; i++, z >>= 8) out[8 + i] = alphabet[(z & 0xff) % (sizeof alphabet - 1)];
  out[16] = '\0';
}

/* The library's entering of a directory it makes temporaries in. */
static int enter_directory(int dirfd) {
  struct stat st;
  if (fstatat(dirfd, "", &st, AT_EMPTY_PATH) != 0) die("fstatat", ".");
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("openat", ".");
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) die("flock", ".");
  static char buf[65536];
  long temps = 0;
  for (ssize_t n; (n = getdents64(fd, buf, sizeof buf)) > 0;) {
    for (ssize_t off = 0; off < n;) {
      struct dirent64 *e = (struct dirent64 *)(buf + off);
      temps += strncmp(e->d_name, ".ovl-wh-", 8) == 0;
      off += e->d_reclen;
    }
  }
  if (temps != 0) fprintf(stderr, "whiteout_loop: %ld temporaries in a fresh directory\n", temps);
  if (flock(fd, LOCK_SH) != 0) die("flock", ".");
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: whiteout_loop DIRECTORY COUNT [chardev|xattr|force|files]\n");
    return 2;
  }
  long count = strtol(argv[2], NULL, 10);
  const char *kind = argc == 4 ? argv[3] : "chardev";
  if (getrandom(&temp_state, sizeof temp_state, 0) != sizeof temp_state) die("getrandom", "");
  char (*names)[24] = calloc(count, sizeof *names);
  for (long i = 0; i < count; i++) snprintf(names[i], sizeof names[i], "w%07ld", i);
  char temp[17], first[17], second[17];

  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int dirfd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("open", argv[1]);
  if (strcmp(kind, "chardev") == 0) {
    for (long i = 0; i < count; i++) {
      if (mknodat(dirfd, names[i], S_IFCHR, makedev(0, 0)) != 0) die("mknodat", names[i]);
    }
  } else if (strcmp(kind, "xattr") == 0) {
    int locked = enter_directory(dirfd);
    int dir = openat(dirfd, ".", O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    char mark[2];
    if (dir < 0) die("openat", ".");
    if (fgetxattr(dir, "trusted.overlay.opaque", mark, sizeof mark) < 0 && errno != ENODATA) die("fgetxattr", ".");
    if (fsetxattr(dir, "trusted.overlay.opaque", "x", 1, 0) != 0) die("fsetxattr", ".");
    for (long i = 0; i < count; i++) {
      temp_name(temp);
      int fd = openat(dirfd, temp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0) die("openat", temp);
      if (fsetxattr(fd, "trusted.overlay.whiteout", "", 0, 0) != 0) die("fsetxattr", temp);
      if (renameat2(dirfd, temp, dirfd, names[i], RENAME_NOREPLACE) != 0) die("renameat2", names[i]);
      close(fd);
      if (i == 0) close(dir);
    }
    close(locked);
  } else if (strcmp(kind, "force") == 0) {
    int locked = enter_directory(dirfd);
    char (*backups)[2][17] = calloc(count, sizeof *backups);
    for (long i = 0; i < count; i++) {
      temp_name(first);
      if (linkat(dirfd, names[i], dirfd, first, 0) != 0) die("linkat", names[i]);
      temp_name(second);
      if (linkat(dirfd, first, dirfd, second, 0) != 0) die("linkat", first);
      temp_name(temp);
      if (mknodat(dirfd, temp, S_IFCHR, makedev(0, 0)) != 0) die("mknodat", temp);
      if (renameat(dirfd, temp, dirfd, names[i]) != 0) die("renameat", names[i]);
      memcpy(backups[i][0], first, sizeof first);
      memcpy(backups[i][1], second, sizeof second);
    }
    for (long i = 0; i < count; i++) {
      struct stat st;
      if (fstatat(dirfd, backups[i][0], &st, AT_SYMLINK_NOFOLLOW) != 0) die("fstatat", backups[i][0]);
      if (unlinkat(dirfd, backups[i][0], 0) != 0) die("unlinkat", backups[i][0]);
      if (unlinkat(dirfd, backups[i][1], 0) != 0) die("unlinkat", backups[i][1]);
    }
    free(backups);
    close(locked);
  } else if (strcmp(kind, "files") == 0) {
    for (long i = 0; i < count; i++) {
      int fd = openat(dirfd, names[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) die("openat", names[i]);
      close(fd);
    }
  } else {
    fprintf(stderr, "whiteout_loop: unknown kind '%s'\n", kind);
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  long long ns = (long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
  printf("%lld\n", ns);
  close(dirfd);
  free(names);
  return 0;
}
