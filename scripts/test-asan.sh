#!/usr/bin/env bash
# Runs the whole test suite with the addon built under AddressSanitizer and
# UndefinedBehaviorSanitizer. Node itself is not instrumented, so the
# sanitizer runtimes are preloaded; any report aborts the process at once,
# which fails the test that triggered it.
set -euo pipefail
cd "$(dirname "$0")/.."

npx cmake-js compile --out build-asan --CDOVERLAY_NATIVE_SANITIZE=ON --CDOVERLAY_NATIVE_TEST_ADDON=ON
# grep reads all of nm's output (no -q): an early exit would SIGPIPE nm and fail the pipe.
if ! nm -D build-asan/Release/overlay_native.node | grep __asan_report > /dev/null; then
  echo "build-asan is not instrumented" >&2
  exit 1
fi

export OVERLAY_NATIVE_ADDON="$PWD/build-asan/Release/overlay_native.node"
export OVERLAY_NATIVE_TEST_ADDON="$PWD/build-asan/Release/overlay_native_test.node"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
# Leak detection is off: Node's own allocations still live at exit would drown
# ours. Leaks are tested by the fd and RSS checks in test/hardening.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# The leak soak is the plain run's job; here a shorter one exercises the same paths.
export OVL_LEAK_CYCLES="${OVL_LEAK_CYCLES:-2000}"
export OVL_LEAK_WHITEOUTS="${OVL_LEAK_WHITEOUTS:-20000}"
export OVL_PROPERTY_RUNS="${OVL_PROPERTY_RUNS:-1000}"

# With no files named, everything but what the sanitizer adds nothing to:
# packaging, module formats, the builds, the bench's output shape, the docs
# and the session docs/cli.md shows (no native code, or not this build's);
# the real kill -9 of convert (a killed process reports nothing;
# convert-crash runs the same convert again here); and the CLI's tests
# (test/cli, and each feature's *-cli.test.js): the addon calls an `ovl`
# process makes are the library's, which the library's own tests make here
# in-process, while each Node spawned under the sanitizer runtimes costs
# seconds (the CLI files were half this stage's time). raw-args stays: it
# hands the addon bytes no other test gives it. npm test and npm run
# test:slow run them all. Named by basename (**/NAME) where a file may move;
# these replace package.json's tap "exclude", so the leak soak runs here,
# shortened.
if [ "$#" -eq 0 ]; then
  set -- --exclude='dist/test/helpers/**' --exclude='dist/test/fixtures/**' \
    --exclude='**/package.test.js' --exclude='**/module-formats.test.js' --exclude='**/builds.test.js' \
    --exclude='**/bench-smoke.test.js' --exclude='**/readme.test.js' --exclude='**/readme-session.test.js' --exclude='**/convert-kill9.test.js' \
    --exclude='dist/test/cli/!(raw-args).test.js' --exclude='**/*-cli.test.js'
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
npx tap --disable-coverage --jobs=3 --timeout=600 "$@" 2>&1 | tee "$log" || status=$?
if grep -qE "ERROR: AddressSanitizer|runtime error:" "$log"; then
  echo "sanitizer reports found (see above)" >&2
  exit 1
fi
exit "$status"
