#!/bin/bash
# npm run test:slow: the test files npm test leaves out because they are
# soaks or a pack-and-install, not a property a short run can check: the
# tarball built with a prebuild and installed in a fresh project
# (package.test.js), thousands of mounts and whiteouts with memory and fds
# held flat (leaks.test.js), the memory a stream of 200,000 layer changes
# holds (layer-changes-memory.test.js), `ovl convert` killed by a real kill -9 after
# several delays (convert-kill9.test.js). CI runs them once, on the Node on
# PATH.
#
# The list is package.json's tap "exclude", read from there so that it is
# written once: every entry naming a test file by basename (**/NAME.test.js)
# is a slow file; the others (helpers, fixtures) are not tests. Named by
# basename, the files are found wherever under dist/test they live.
# Extra arguments go to tap (say, --reporter=terse).
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent pretest

mapfile -t files < <(node -e '
  const { tap } = require("./package.json");
  for (const pattern of tap.exclude) if (/^\*\*\/[^/*]+\.test\.js$/.test(pattern)) console.log("dist/test/" + pattern);
')
[ "${#files[@]}" -gt 0 ] || { echo "test:slow: package.json's tap exclude names no test file" >&2; exit 1; }
# Coverage is npm test's: thresholds over a handful of files mean nothing.
# (tap runs a file named on its command line even when "exclude" matches it.)
exec npx tap --disable-coverage "$@" "${files[@]}"
