/*
 * The physical limit for one overlay mount+umount: the same system calls
 * overlay-native makes for the fsconfig-fd mechanism, in a C loop, with no
 * JavaScript, no N-API and no error strings. Per iteration:
 *   on the calling thread, /proc/self/mountinfo read into one 64 KiB buffer
 *   (the library's check that no mounted overlay writes to the upper or
 *   work: with none mounted that has an upper, it stats nothing more);
 *   open(O_PATH|O_DIRECTORY) every lower layer, upper and work;
 *   statx upper and work (same mount? different directories?);
 *   walk from work and from upper to their mount's root with openat("..") +
 *   statx, as the binding does to refuse nested upper/work;
 *   readlink of each layer's /proc/self/fd name (overlapping layers);
 *   open the target; fsopen; fsconfig "source" and one FSCONFIG_SET_FD per
 *   layer; FSCONFIG_CMD_CREATE; fsmount; move_mount onto the target fd;
 *   statx for the mount id and for the unique one; one read of the fs log;
 *   close everything; statx of the target (is the top mount still ours?)
 *   and umount2(target, 0).
 * Usage: mount_loop [--handoff] ITERATIONS TARGET UPPER WORK LOWER...
 *        mount_loop --mount2 ITERATIONS TARGET OPTIONS
 * Prints the loop's total wall time in nanoseconds.
 *
 * --mount2 is context, not a reference for the library: mount(2) with the
 * options as one string, then umount2, and nothing else (no layer opened or
 * checked, no mount id read), as a script's C helper would do it.
 *
 * --handoff runs each mount and each umount on a worker thread while the
 * main thread waits in epoll_wait for an eventfd, the way libuv's thread
 * pool hands work off and back: the floor for any API that keeps the
 * system calls off the calling thread, with no JavaScript in it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <time.h>

#include "overlay_steps.h"

struct job {
  const char *target, *upper, *work;
  char **lower;
  int nlower;
};

enum { IDLE, MOUNT, UMOUNT, QUIT };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t posted = PTHREAD_COND_INITIALIZER;
static int pending = IDLE;
static int done_fd;

/* The check for a mounted overlay's upper or work, made on the caller's
 * thread in the library's Promise form too: one read into a 64 KiB buffer,
 * one more that finds the end. */
static void read_mountinfo(void) {
  static char buf[1 << 16];
  int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("mountinfo");
  size_t length = 0;
  for (ssize_t n; (n = read(fd, buf + length, sizeof(buf) - length)) > 0;) {
    length += (size_t)n;
    if (length == sizeof(buf)) length = 0;
  }
  close(fd);
}

static void run_job(const struct job *job, int what) {
  if (what == MOUNT) mount_once(job->target, job->upper, job->work, job->lower, job->nlower);
  if (what == UMOUNT && umount_own(job->target, 0) != 0) die("umount2");
}

static void *worker(void *arg) {
  const struct job *job = arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    while (pending == IDLE) pthread_cond_wait(&posted, &lock);
    int what = pending;
    pending = IDLE;
    pthread_mutex_unlock(&lock);
    if (what == QUIT) return NULL;
    run_job(job, what);
    uint64_t one = 1;
    if (write(done_fd, &one, sizeof(one)) != sizeof(one)) die("eventfd write");
  }
}

/* Posts one job to the worker and sleeps in epoll_wait until it reports back. */
static void hand_off(int epfd, int what) {
  pthread_mutex_lock(&lock);
  pending = what;
  pthread_cond_signal(&posted);
  pthread_mutex_unlock(&lock);
  struct epoll_event ev;
  while (epoll_wait(epfd, &ev, 1, -1) != 1) {
    if (errno != EINTR) die("epoll_wait");
  }
  uint64_t count;
  if (read(done_fd, &count, sizeof(count)) != sizeof(count)) die("eventfd read");
}

static int mount2_loop(long iterations, const char *target, const char *options) {
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < iterations; i++) {
    if (mount("overlay", target, "overlay", 0, options) != 0) die("mount");
    if (umount2(target, 0) != 0) die("umount2");
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("%lld\n", (long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec));
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--mount2") == 0) return mount2_loop(strtol(argv[2], NULL, 10), argv[3], argv[4]);
  int handoff = argc > 1 && strcmp(argv[1], "--handoff") == 0;
  if (handoff) {
    argv++;
    argc--;
  }
  if (argc < 6) {
    fprintf(stderr, "usage: mount_loop [--handoff] ITERATIONS TARGET UPPER WORK LOWER...\n");
    return 2;
  }
  long iterations = strtol(argv[1], NULL, 10);
  struct job job = {argv[2], argv[3], argv[4], argv + 5, argc - 5};

  pthread_t thread;
  int epfd = -1;
  if (handoff) {
    done_fd = eventfd(0, EFD_CLOEXEC);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (done_fd < 0 || epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, done_fd, &ev) != 0) die("eventfd/epoll");
    if (pthread_create(&thread, NULL, worker, &job) != 0) die("pthread_create");
  }

  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < iterations; i++) {
    read_mountinfo();
    if (handoff) {
      hand_off(epfd, MOUNT);
      hand_off(epfd, UMOUNT);
    } else {
      run_job(&job, MOUNT);
      run_job(&job, UMOUNT);
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  if (handoff) {
    pthread_mutex_lock(&lock);
    pending = QUIT;
    pthread_cond_signal(&posted);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
  }
  long long ns = (long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
  printf("%lld\n", ns);
  return 0;
}
