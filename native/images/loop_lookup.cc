#include "images/loop_lookup.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace ovl {
namespace {

// "loop12" -> 12; -1 for anything else in /sys/block.
int LoopNumber(const char* name) {
  if (std::strncmp(name, "loop", 4) != 0 || name[4] == '\0') return -1;
  char* end = nullptr;
  long n = std::strtol(name + 4, &end, 10);
  return *end == '\0' && n >= 0 && n < (1 << 20) ? static_cast<int>(n) : -1;
}

// lo_device is the kernel's huge_encode_dev() of the backing file's device.
bool SameDevice(uint64_t encoded, dev_t dev) {
  unsigned major = static_cast<unsigned>((encoded & 0xfff00) >> 8);
  unsigned minor = static_cast<unsigned>((encoded & 0xff) | ((encoded >> 12) & 0xfff00));
  return major == ::major(dev) && minor == ::minor(dev);
}

}  // namespace

UniqueFd OpenLoopNode(int number, int flags) {
  std::string path = "/dev/loop" + std::to_string(number);
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (fd.valid() || errno != ENOENT) return fd;
  if (::mknod(path.c_str(), S_IFBLK | 0660, makedev(7, number)) != 0 && errno != EEXIST) {
    errno = ENOENT;
    return fd;
  }
  return UniqueFd(::open(path.c_str(), flags | O_CLOEXEC));
}

Outcome<std::vector<BoundLoop>> FindBoundLoops(dev_t dev, ino_t ino) {
  std::vector<BoundLoop> found;
  DIR* block = ::opendir("/sys/block");
  if (block == nullptr) return SysError::FromErrno("opendir", "/sys/block");
  int blockFd = ::dirfd(block);
  while (dirent* entry = ::readdir(block)) {
    int number = LoopNumber(entry->d_name);
    if (number < 0) continue;
    // sysfs has loopN/loop/ only while the device is bound: the unbound ones are never opened.
    std::string attrs = std::string(entry->d_name) + "/loop";
    if (::faccessat(blockFd, attrs.c_str(), F_OK, 0) != 0) continue;
    BoundLoop loop;
    loop.number = number;
    loop.fd = OpenLoopNode(number, O_RDONLY);
    if (!loop.fd.valid()) {
      if (errno == ENOENT || errno == ENXIO) continue;  // gone meanwhile
      SysError e = SysError::FromErrno("open", loop.path());
      ::closedir(block);
      return e;
    }
    struct loop_info64 info {};
    if (::ioctl(loop.fd.get(), LOOP_GET_STATUS64, &info) != 0) continue;  // ENXIO: unbound meanwhile
    if (!SameDevice(info.lo_device, dev) || info.lo_inode != ino) continue;
    loop.readOnly = (info.lo_flags & LO_FLAGS_READ_ONLY) != 0;
    loop.wholeFile = info.lo_offset == 0 && info.lo_sizelimit == 0;
    found.push_back(std::move(loop));
  }
  ::closedir(block);
  return found;
}

}  // namespace ovl
