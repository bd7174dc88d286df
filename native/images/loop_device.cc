#include "images/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>

#include "images/loop_lookup.h"

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
#endif

namespace ovl {
namespace {

// Another process can be handed the same free number between GET_FREE and
// CONFIGURE; it then fails EBUSY here, and a fresh GET_FREE gives another.
constexpr int kMaxAttempts = 64;

}  // namespace

Outcome<LoopDevice> AttachLoop(int imageFd, bool writable, const std::string& image, const std::string& field) {
  UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control.valid()) return SysError::FromErrno("open", "/dev/loop-control", field);
  for (int attempt = 0; attempt < kMaxAttempts; attempt++) {
    int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (number < 0) return SysError::FromErrno("ioctl LOOP_CTL_GET_FREE", "/dev/loop-control", field);
    LoopDevice loop;
    loop.number = number;
    loop.fd = OpenLoopNode(number, writable ? O_RDWR : O_RDONLY);
    if (!loop.fd.valid()) return SysError::FromErrno("open", loop.path(), field);
    struct loop_config config;
    std::memset(&config, 0, sizeof(config));
    config.fd = static_cast<unsigned>(imageFd);
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR | (writable ? 0 : LO_FLAGS_READ_ONLY);
    // A breadcrumb for losetup and for anyone wondering whose device this is.
    std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
    if (::ioctl(loop.fd.get(), LOOP_CONFIGURE, &config) == 0) return loop;
    if (errno != EBUSY) return SysError::FromErrno("ioctl LOOP_CONFIGURE", loop.path(), field);
  }
  errno = EBUSY;
  return SysError::FromErrno("ioctl LOOP_CONFIGURE", image, field);
}

}  // namespace ovl
