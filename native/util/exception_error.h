// A C++ exception turned into the SysError every operation reports, so that
// none escapes to N-API (the Sync form would end the process with
// `terminate called`) or to AsyncWorker (the Promise form would reject with
// a plain Error that has no code). Call only from inside a catch block.
#pragma once

#include <cerrno>
#include <exception>
#include <new>
#include <string>
#include <system_error>

#include "util/sys_error.h"

namespace ovl {

// `doing` says what failed, as the message's reason: "starting a thread", "mountOverlay".
inline SysError CurrentExceptionError(const std::string& doing, const std::string& field = {}) {
  int errnum = EIO;  // an exception that carries no errno: the operation failed, not the request
  std::string what = "unknown exception";
  try {
    throw;
  } catch (const std::system_error& e) {
    // std::thread reports pthread_create's errno (EAGAIN at RLIMIT_NPROC) in the system category.
    const auto& category = e.code().category();
    if (e.code().value() > 0 && (category == std::system_category() || category == std::generic_category())) errnum = e.code().value();
    what = e.what();
  } catch (const std::bad_alloc& e) {
    errnum = ENOMEM;
    what = e.what();
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  return SysError::Invalid(field, {}, doing + " failed: " + what, errnum);
}

}  // namespace ovl
