// Failure points for tests, where the kernel cannot be made to fail on
// demand (a mount appearing between two system calls, an unmount refused).
// The addon users load has none: FaultAt is a constant 0 there and the
// branch is compiled away. The test addon (overlay_native_test in
// CMakeLists.txt, built with OVERLAY_NATIVE_TEST) lets a test arm a point
// (native/test/faults.cc).
#pragma once

namespace ovl {

#ifdef OVERLAY_NATIVE_TEST
// Called where a failure can be injected: runs the action armed at `point`
// (once) and returns the errno it was armed with, or 0.
int FaultAt(const char* point);
#else
constexpr int FaultAt(const char*) { return 0; }
#endif

}  // namespace ovl
