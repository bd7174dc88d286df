/*
 * The reference for changes(): the same system calls the native walk makes,
 * with nothing else. Each upper directory is opened relative to its parent,
 * its names read with getdents64 and sorted; each entry lstat'ed (fstatat,
 * AT_SYMLINK_NOFOLLOW) in the upper, a char device 0/0 counted as a deletion,
 * an empty file checked for overlay.whiteout; every other entry looked up in
 * the lower directory (fstatat); a directory both sides have opened in both,
 * its opaque xattr read in both, and walked.
 * Usage: layer_walk UPPER LOWER
 * Prints the walk's wall time in nanoseconds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

struct dirent64_k {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void fail(const char *what) {
  fprintf(stderr, "layer_walk: %s: %s\n", what, strerror(errno));
  exit(1);
}

static char **read_names(int fd, size_t *count) {
  static char buf[64 * 1024];
  size_t cap = 64, n = 0;
  char **names = malloc(cap * sizeof *names);
  for (;;) {
    long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (got < 0) fail("getdents64");
    if (got == 0) break;
    for (long at = 0; at < got;) {
      struct dirent64_k *d = (struct dirent64_k *)(buf + at);
      at += d->reclen;
      if (d->name[0] == '.' && (d->name[1] == 0 || (d->name[1] == '.' && d->name[2] == 0))) continue;
      if (n == cap) names = realloc(names, (cap *= 2) * sizeof *names);
      names[n++] = strdup(d->name);
    }
  }
  qsort(names, n, sizeof *names, by_name);
  *count = n;
  return names;
}

static void walk(int upper, int lower) {
  size_t n;
  char **names = read_names(upper, &n);
  char value[2];
  for (size_t i = 0; i < n; i++) {
    struct stat st, below;
    if (fstatat(upper, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) fail("fstatat upper");
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) continue;
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
      int f = openat(upper, names[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (f >= 0) {
        fgetxattr(f, "trusted.overlay.whiteout", NULL, 0);
        close(f);
      }
    }
    int found = lower >= 0 && fstatat(lower, names[i], &below, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISDIR(st.st_mode)) {
      int child = openat(upper, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) fail("openat upper");
      int lowerChild = -1;
      if (found && S_ISDIR(below.st_mode)) {
        lowerChild = openat(lower, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (lowerChild >= 0) fgetxattr(lowerChild, "trusted.overlay.opaque", value, sizeof value);
        fgetxattr(child, "trusted.overlay.opaque", value, sizeof value);
      }
      walk(child, lowerChild);
      close(child);
      if (lowerChild >= 0) close(lowerChild);
    }
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: layer_walk UPPER LOWER\n");
    return 2;
  }
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int upper = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int lower = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (upper < 0 || lower < 0) fail("open");
  walk(upper, lower);
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("%lld\n", (long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec));
  return 0;
}
