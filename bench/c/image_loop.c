/*
 * The C reference for image layers: the system calls overlay-native makes to
 * mount a stack of image files as lower layers and unmount it, with no
 * JavaScript, in the same order (compared with strace). Per iteration: each
 * image file opened and fstat'ed; then for each, the superblock read
 * (pread); erofs: fsopen("erofs") with the file itself as source (once a
 * kernel refuses that, ENOTBLK, a loop device for the rest of the run);
 * others: /dev/loop-control LOOP_CTL_GET_FREE, open /dev/loopN,
 * LOOP_CONFIGURE (read-only, autoclear), fsopen(type) with the loop fd's
 * name as source; then "ro", FSCONFIG_CMD_CREATE, fsmount(MOUNT_ATTR_RDONLY).
 * The image files closed, each image's root opened beneath it (openat2).
 * Then the layer checks (each layer's path read back; an image root's path
 * is "/", so the addon compares devices with fstat where those paths meet),
 * the overlay as overlay_steps.h builds it (layers by fd, the plain
 * directory last, no upper; the fs log read), move_mount, statx for the
 * mount id, the unique mount id and the superblock; the record, as the addon
 * writes it in the same call: written unnamed (O_TMPFILE) and linked in, the record
 * directory read (the other records a mount checks: none here). The unmount
 * as a mount object makes it (statx of the target, umount2), the record
 * removed in the same call. (The mount namespace's name, also in a record,
 * is read once per process, as the library does.)
 * Usage: image_loop ITERATIONS TARGET RECORD_DIR PLAIN_DIR IMAGE...
 * Prints the loop's total wall time in nanoseconds.
 *
 * IMAGE_LOOP_SEALED=1 makes it the stack of a sealed layer (lib/seal): the
 * plain directory is the object store, handed over as `datadir+`, and the
 * overlay gets redirect_dir=follow and metacopy=on, as the library sets them.
 *
 * IMAGE_LOOP_USER_NS=N makes the loop also spend N ns a iteration in user
 * space, busy, before its unmount: a context row, not a reference. On the
 * bench's VM the kernel's part of a mount+umount costs more when a process
 * spends time in user space between its calls (a 60 us pause took the loop
 * from about 130 to 320 us), and a library always does: the bench runs this
 * with the library's own user time, measured in the same run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <linux/loop.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <time.h>

#include "overlay_steps.h"

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

static int erofs_file_backed = 1;

static const char *detect(int fd) {
  unsigned char sb[2048];
  ssize_t n = pread(fd, sb, sizeof(sb), 0);
  if (n >= 4 && memcmp(sb, "hsqs", 4) == 0) return "squashfs";
  if (n >= 1028 && sb[1024] == 0xE2 && sb[1025] == 0xE1 && sb[1026] == 0xF5 && sb[1027] == 0xE0) return "erofs";
  if (n >= 1082 && sb[1080] == 0x53 && sb[1081] == 0xEF) return "ext4";
  errno = EINVAL;
  die("unknown image");
  return NULL;
}

/* fsopen(type) .. fsmount, read-only; -1 with errno on a refusal at create. */
static int mount_fs(const char *type, const char *source) {
  int fsfd = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
  if (fsfd < 0) die("fsopen image");
  if (fs_config(fsfd, FSCONFIG_SET_STRING, "source", source, 0) != 0) die("fsconfig source");
  if (fs_config(fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0) != 0) die("fsconfig ro");
  if (fs_config(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
    int err = errno;
    close(fsfd);
    errno = err;
    return -1;
  }
  int mnt = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
  if (mnt < 0) die("fsmount image");
  close(fsfd);
  return mnt;
}

static int attach_loop(int imagefd) {
  int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) die("loop-control");
  for (;;) {
    int n = ioctl(control, LOOP_CTL_GET_FREE);
    if (n < 0) die("LOOP_CTL_GET_FREE");
    char path[32];
    snprintf(path, sizeof(path), "/dev/loop%d", n);
    int loop = open(path, O_RDONLY | O_CLOEXEC);
    if (loop < 0) die(path);
    struct loop_config config;
    memset(&config, 0, sizeof(config));
    config.fd = (unsigned)imagefd;
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_READ_ONLY;
    if (ioctl(loop, LOOP_CONFIGURE, &config) == 0) {
      close(control);
      return loop;
    }
    if (errno != EBUSY) die("LOOP_CONFIGURE");
    close(loop);
  }
}

/* Each image file opened and its identity read first: the addon names each distinct file (by
 * device and inode) once, before it mounts any. */
static int open_image(const char *image) {
  int fd = open(image, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(image);
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  return fd;
}

/* The loop devices bound now, each opened and asked what it is bound to (LOOP_GET_STATUS64), as
 * the addon looks for a device already bound to the image (one superblock per image file); none
 * is, here, so nothing is reused. */
static void look_for_bound_loops(void) {
  DIR *block = opendir("/sys/block");
  if (!block) die("/sys/block");
  struct dirent *entry;
  while ((entry = readdir(block)) != NULL) {
    if (strncmp(entry->d_name, "loop", 4) != 0 || entry->d_name[4] == '\0') continue;
    char attrs[300], node[300];
    snprintf(attrs, sizeof(attrs), "%s/loop", entry->d_name);
    if (faccessat(dirfd(block), attrs, F_OK, 0) != 0) continue;
    snprintf(node, sizeof(node), "/dev/%s", entry->d_name);
    int loop = open(node, O_RDONLY | O_CLOEXEC);
    if (loop < 0) continue;
    struct loop_info64 info;
    ioctl(loop, LOOP_GET_STATUS64, &info);
    close(loop);
  }
  closedir(block);
}

/* The image's detached mount; its fd must stay open until overlay has taken the layer (closing it
 * dissolves the detached mount). The image is locked (shared, for a read-only one) from the look
 * at the bound devices until its superblock holds its device. */
static int mount_image(int fd) {
  const char *type = detect(fd);
  char source[64];
  int mnt = -1;
  flock(fd, LOCK_SH);
  look_for_bound_loops();
  if (strcmp(type, "erofs") == 0 && erofs_file_backed) {
    snprintf(source, sizeof(source), "/proc/self/fd/%d", fd);
    mnt = mount_fs(type, source);
    if (mnt < 0 && errno != ENOTBLK) die("erofs create");
    if (mnt < 0) erofs_file_backed = 0;
  }
  if (mnt < 0) {
    int loop = attach_loop(fd);
    snprintf(source, sizeof(source), "/proc/self/fd/%d", loop);
    mnt = mount_fs(type, source);
    if (mnt < 0) die("image create");
    close(loop);
  }
  flock(fd, LOCK_UN);
  return mnt;
}

/* The root of a mounted image, opened beneath it. */
static int open_root(int mnt) {
  struct open_how how;
  memset(&how, 0, sizeof(how));
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  int root = (int)syscall(SYS_openat2, mnt, ".", &how, sizeof(how));
  if (root < 0) die("openat2");
  return root;
}

/* The addon's overlap check on these layers: each one's path read back; the
 * image roots all read "/", so each later one is compared with the first by
 * device, and so is the plain directory, beneath "/". */
static void check_overlap(const struct layers *l, int nimages) {
  struct stat a, b;
  for (int j = 0; j < l->nlower; j++) real_path(l->lower[j]);
  for (int j = 1; j < nimages; j++) {
    if (fstat(l->lower[0], &a) != 0 || fstat(l->lower[j], &b) != 0) die("fstat");
  }
  if (nimages > 0 && (fstat(l->lower[nimages], &a) != 0 || fstat(l->lower[0], &b) != 0)) die("fstat");
}

/* Busy, in user space, for ns nanoseconds: no system call (clock_gettime is a vDSO call). */
static void busy_user_time(long long ns) {
  struct timespec from, now;
  clock_gettime(CLOCK_MONOTONIC, &from);
  do clock_gettime(CLOCK_MONOTONIC, &now);
  while ((now.tv_sec - from.tv_sec) * 1000000000LL + (now.tv_nsec - from.tv_nsec) < ns);
}

/* The record directory read, as a mount does to check a few other records. */
static void read_records(const char *records) {
  DIR *dir = opendir(records);
  if (!dir) die("opendir records");
  while (readdir(dir)) {
  }
  closedir(dir);
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: image_loop ITERATIONS TARGET RECORD_DIR PLAIN_DIR IMAGE...\n");
    return 2;
  }
  long iterations = strtol(argv[1], NULL, 10);
  const char *target = argv[2], *records = argv[3], *plain = argv[4];
  char **images = argv + 5;
  int nimages = argc - 5;
  const char *user_ns = getenv("IMAGE_LOOP_USER_NS");
  long long busy_ns = user_ns ? strtoll(user_ns, NULL, 10) : 0;
  const char *sealed_env = getenv("IMAGE_LOOP_SEALED");
  int sealed = sealed_env && strcmp(sealed_env, "1") == 0;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < iterations; i++) {
    struct layers l = {.nlower = nimages + 1, .upper = -1, .work = -1};
    int mounts[MAX_LAYERS];
    int files[MAX_LAYERS];
    for (int j = 0; j < nimages; j++) files[j] = open_image(images[j]);
    for (int j = 0; j < nimages; j++) mounts[j] = mount_image(files[j]);
    for (int j = 0; j < nimages; j++) close(files[j]);
    for (int j = 0; j < nimages; j++) l.lower[j] = open_root(mounts[j]);
    l.lower[nimages] = open_dir(plain);
    check_overlap(&l, nimages);
    int targetfd = open_dir(target);
    int fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fsfd < 0) die("fsopen");
    if (fs_config(fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0) != 0) die("fsconfig source");
    for (int j = 0; j < l.nlower; j++) {
      const char *key = sealed && j == nimages ? "datadir+" : "lowerdir+";
      if (fs_config(fsfd, FSCONFIG_SET_FD, key, NULL, l.lower[j]) != 0) die("fsconfig layer");
    }
    if (sealed && (fs_config(fsfd, FSCONFIG_SET_STRING, "redirect_dir", "follow", 0) != 0 || fs_config(fsfd, FSCONFIG_SET_STRING, "metacopy", "on", 0) != 0)) die("fsconfig sealed");
    if (fs_config(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) die("fsconfig create");
    int mntfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
    if (mntfd < 0) die("fsmount");
    char log[4096];
    while (read(fsfd, log, sizeof(log) - 1) > 0) {
    }
    close(fsfd);
    if (move_mount_fds(mntfd, targetfd, 0) != 0) die("move_mount");
    mount_id(mntfd);
    struct statx stx, sb;
    if (statx(mntfd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &stx) != 0) die("statx unique");
    if (statx(mntfd, "", AT_EMPTY_PATH, 0, &sb) != 0) die("statx superblock");
    close(mntfd);
    close(targetfd);
    for (int j = 0; j < l.nlower; j++) close(l.lower[j]);
    for (int j = 0; j < nimages; j++) close(mounts[j]);
    /* The record: written unnamed, linked in under its name; removed at unmount. */
    char self[64], file[4096];
    snprintf(file, sizeof(file), "%s/%llu.json", records, (unsigned long long)stx.stx_mnt_id);
    int rec = open(records, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (rec < 0 || write(rec, "{}", 2) != 2) die("record");
    snprintf(self, sizeof(self), "/proc/self/fd/%d", rec);
    if (linkat(AT_FDCWD, self, AT_FDCWD, file, AT_SYMLINK_FOLLOW) != 0) die("link record");
    close(rec);
    read_records(records);
    if (busy_ns > 0) busy_user_time(busy_ns);
    if (umount_own(target, 0) != 0) die("umount2");
    if (unlink(file) != 0) die("unlink record");
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  long long ns = (long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
  printf("%lld\n", ns);
  return 0;
}
