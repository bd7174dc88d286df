/*
 * The reference for fromOci: for each OCI marker .wh.NAME in one directory,
 * unlinkat the marker and mknodat a char device 0/0 NAME, names w0000000 ...
 * Usage: oci_whiteout_loop DIRECTORY COUNT
 * Prints the loop's total wall time in nanoseconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: oci_whiteout_loop DIRECTORY COUNT\n");
    return 2;
  }
  long count = strtol(argv[2], NULL, 10);
  int dirfd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    fprintf(stderr, "oci_whiteout_loop: open %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  char marker[40], name[32];
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < count; i++) {
    snprintf(name, sizeof name, "w%07ld", i);
    snprintf(marker, sizeof marker, ".wh.%s", name);
    if (unlinkat(dirfd, marker, 0) != 0 || mknodat(dirfd, name, S_IFCHR, makedev(0, 0)) != 0) {
      fprintf(stderr, "oci_whiteout_loop: %s: %s\n", name, strerror(errno));
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("%lld\n", (long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec));
  return 0;
}
