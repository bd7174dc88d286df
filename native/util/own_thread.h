// Runs a step in a thread of its own and waits for it: for the steps that
// change what a thread shares (unshare(CLONE_FS) before a chdir, a private
// mount namespace) and so must not run on a Node or libuv thread. A thread
// that cannot start (EAGAIN at RLIMIT_NPROC) or a step that throws is an
// error like any other, never an exception out of the addon.
#pragma once

#include <string>
#include <thread>

#include "util/exception_error.h"
#include "util/sys_error.h"

namespace ovl {

// `body` returns a SysError; `field` is the request field the thread serves.
template <typename Body>
SysError RunInOwnThread(const std::string& field, Body body) noexcept {
  SysError result;
  std::thread worker;
  try {
    worker = std::thread([&]() noexcept {
      try {
        result = body();
      } catch (...) {
        result = CurrentExceptionError("the step in a thread of its own", field);
      }
    });
  } catch (...) {
    return CurrentExceptionError("starting a thread of its own", field);
  }
  worker.join();  // joinable and not this thread: only a kernel fault makes it throw, and then terminate is right
  return result;
}

}  // namespace ovl
