/*
 * The physical limit for one overlay mount+umount: the same system calls
 * overlay-native makes for the fsconfig-fd mechanism, in a C loop, with no
 * JavaScript, no N-API and no error strings. Per iteration:
 *   open(O_PATH|O_DIRECTORY) every lower layer, upper and work;
 *   statx upper and work (same mount? different directories?);
 *   walk from work and from upper to their mount's root with openat("..") +
 *   statx, as the binding does to refuse nested upper/work;
 *   open the target; fsopen; fsconfig "source" and one FSCONFIG_SET_FD per
 *   layer; FSCONFIG_CMD_CREATE; fsmount; move_mount onto the target fd;
 *   statx for the mount id; one read of the fs log; close everything;
 *   umount2(target, 0).
 * Usage: mount_loop [--handoff] ITERATIONS TARGET UPPER WORK LOWER...
 * Prints the loop's total wall time in nanoseconds.
 *
 * --handoff runs each mount and each umount on a worker thread while the
 * main thread waits in epoll_wait for an eventfd, the way libuv's thread
 * pool hands work off and back: the floor for any API that keeps the
 * system calls off the calling thread, with no JavaScript in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_fsopen
#define SYS_move_mount 429
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif

#define MAX_LAYERS 512
#define MAX_WALK 4096

struct identity {
  dev_t dev;
  ino_t ino;
  unsigned long long mnt;
};

static void die(const char *what) {
  fprintf(stderr, "mount_loop: %s: %s\n", what, strerror(errno));
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

static int fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

static void mount_once(const char *target, const char *upper, const char *work, char **lower, int nlower) {
  int lowerfd[MAX_LAYERS];
  for (int i = 0; i < nlower; i++) lowerfd[i] = open_dir(lower[i]);
  int upperfd = open_dir(upper), workfd = open_dir(work);

  struct identity u, w;
  identify(upperfd, &u);
  identify(workfd, &w);
  if (u.mnt != w.mnt || same(&u, &w)) { errno = EINVAL; die("upper/work"); }
  if (is_inside(workfd, &u) || is_inside(upperfd, &w)) { errno = EINVAL; die("nested upper/work"); }

  int targetfd = open_dir(target);
  int fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) die("fsopen");
  if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0) != 0) die("fsconfig source");
  for (int i = 0; i < nlower; i++) {
    if (fsconfig(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, lowerfd[i]) != 0) die("fsconfig lowerdir+");
  }
  if (fsconfig(fsfd, FSCONFIG_SET_FD, "upperdir", NULL, upperfd) != 0) die("fsconfig upperdir");
  if (fsconfig(fsfd, FSCONFIG_SET_FD, "workdir", NULL, workfd) != 0) die("fsconfig workdir");
  if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) die("fsconfig create");
  int mntfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
  if (mntfd < 0) die("fsmount");
  if (syscall(SYS_move_mount, mntfd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) die("move_mount");

  struct identity mounted;
  identify(mntfd, &mounted);
  char log[4096];
  while (read(fsfd, log, sizeof(log) - 1) > 0) {
  }

  close(mntfd);
  close(fsfd);
  close(targetfd);
  close(workfd);
  close(upperfd);
  for (int i = 0; i < nlower; i++) close(lowerfd[i]);
}

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

static void run_job(const struct job *job, int what) {
  if (what == MOUNT) mount_once(job->target, job->upper, job->work, job->lower, job->nlower);
  if (what == UMOUNT && syscall(SYS_umount2, job->target, 0) != 0) die("umount2");
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

int main(int argc, char **argv) {
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
  if (job.nlower > MAX_LAYERS) { errno = E2BIG; die("too many layers"); }

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
