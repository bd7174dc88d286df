#!/bin/bash
# npm run prebuildify:arm64: prebuilds/linux-arm64/overlay-native.glibc.node,
# cross-compiled on an x64 machine by Debian's g++-aarch64-linux-gnu from the
# same binding.gyp as the native build. The addon uses N-API only, so the
# Node headers node-gyp compiles against are the node-api declarations, the
# same for every architecture. npm run test:arm64 loads the result on an arm64
# kernel. Installs the cross compiler when it is missing (needs root then).
set -euo pipefail
cd "$(dirname "$0")/.."
triplet=aarch64-linux-gnu
if ! command -v "$triplet-g++" > /dev/null; then
  [ "$(id -u)" = 0 ] || { echo "prebuildify:arm64 needs $triplet-g++: apt-get install g++-$triplet (as root)" >&2; exit 1; }
  echo "installing g++-$triplet"
  apt-get update -qq < /dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "g++-$triplet" < /dev/null > /dev/null
fi
# The addon links libzstd: the arm64 library to link against (multiarch, beside
# the host's own).
if [ ! -e "/usr/lib/$triplet/libzstd.so" ]; then
  [ "$(id -u)" = 0 ] || { echo "prebuildify:arm64 needs libzstd-dev:arm64: dpkg --add-architecture arm64; apt-get install libzstd-dev:arm64 (as root)" >&2; exit 1; }
  echo "installing libzstd-dev:arm64"
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update -qq < /dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libzstd-dev:arm64 < /dev/null > /dev/null
fi
# node-gyp's make build takes the compiler, linker and archiver from these.
export CC="$triplet-gcc" CXX="$triplet-g++" LINK="$triplet-g++" AR="$triplet-ar"
# prebuildify builds in ./build and takes the result away from it: run it in
# a copy of what the build reads, so the host's build/ (which tests and
# node-gyp-build load) stays as it is.
stage=$(mktemp -d "${TMPDIR:-/tmp}/overlay-native-arm64-build.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp -r package.json binding.gyp native "$stage/"
ln -s "$PWD/node_modules" "$stage/node_modules"
(cd "$stage" && npx prebuildify --napi --strip --tag-libc --arch arm64 --strip-bin "$triplet-strip")
file=prebuilds/linux-arm64/overlay-native.glibc.node
mkdir -p prebuilds/linux-arm64
cp "$stage/$file" "$file"
# A host compiler that slipped in would make an x64 file under an arm64 name.
machine=$("$triplet-readelf" -h "$file" | sed -n 's/^ *Machine: *//p')
[ "$machine" = AArch64 ] || { echo "$file is built for '$machine', not AArch64" >&2; exit 1; }
echo "$file: $machine, $(stat -c %s "$file") bytes"
