# Sourced by run.sh (test:vm) and arm64.sh (test:arm64): what both do on the
# host before a guest boots. The caller sets stage_name (shown in each stage
# line) and runs as root.

stage_start=$SECONDS
stage() {
  printf '\n== %s: %s (previous stage %ss, %ss since start)\n' "$stage_name" "$1" "$((SECONDS - stage_start))" "$SECONDS"
  stage_start=$SECONDS
}

apt_updated=
apt_update() {
  [ -n "$apt_updated" ] && return
  apt-get update -qq < /dev/null
  apt_updated=1
}

# install_missing COMMAND=PACKAGE... [PACKAGE...]: installs the package of each
# command not on PATH, and each bare package dpkg does not list as installed.
install_missing() {
  local want missing=()
  for want in "$@"; do
    case "$want" in
      *=*) command -v "${want%%=*}" > /dev/null || missing+=("${want#*=}") ;;
      *) dpkg-query -W -f='${Status}' "$want" 2> /dev/null | grep -q 'ok installed' || missing+=("$want") ;;
    esac
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  echo "installing: ${missing[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" < /dev/null > /dev/null
}

# resolve_kernel PACKAGE: prints "PACKAGE VERSION" of the kernel to boot. A
# meta package (linux-image-amd64) names the current kernel in its Depends;
# an exact package has no linux-image dependency and names itself.
resolve_kernel() {
  local info dep
  info=$(apt-cache show --no-all-versions "$1" 2> /dev/null) || return 1
  dep=$(sed -n 's/^Depends: .*\(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1 \2/p' <<< "$info" | head -n 1)
  if [ -n "$dep" ]; then echo "$dep"; else sed -n 's/^Version: //p' <<< "$info" | sed "s/^/$1 /" | head -n 1; fi
}

# prepare_kernel PACKAGE CACHE [BUSYBOX]: sets kernel_dir to the directory
# prepare-kernel.sh made for that kernel, with the test initramfs around
# BUSYBOX (the guest architecture's static busybox) [/bin/busybox].
prepare_kernel() {
  local meta=$1 cache=$2 busybox=${3:-/bin/busybox} spec pkg version here
  here=$(dirname "${BASH_SOURCE[0]}")
  if ! spec=$(resolve_kernel "$meta"); then
    apt_update
    spec=$(resolve_kernel "$meta") || { echo "apt-cache knows no package $meta" >&2; return 1; }
  fi
  read -r pkg version <<< "$spec"
  echo "$meta -> $pkg $version"
  if ! kernel_dir=$("$here/prepare-kernel.sh" "$pkg" "$version" "$cache" "$here/init" "$here/init-root" "$busybox"); then
    # The lists may name a version the archive no longer has: refresh once.
    apt_update
    spec=$(resolve_kernel "$meta")
    read -r pkg version <<< "$spec"
    kernel_dir=$("$here/prepare-kernel.sh" "$pkg" "$version" "$cache" "$here/init" "$here/init-root" "$busybox")
  fi
}

# project_disk DIR IMAGE: a read-only ext4 copy of DIR for the guest to mount
# at DIR's path (see init), built by mkfs.ext4 -d: no loop device.
project_disk() {
  local size_mb
  size_mb=$(( $(du -sm "$1" | cut -f1) * 3 / 2 + 64 ))
  mkfs.ext4 -q -F -L project -d "$1" "$2" "${size_mb}M"
  echo "${size_mb}M image of $1"
}

# keep_results OUT_DIR KEPT_DIR: what a guest reported (TAP, serial log,
# qemu's output), kept for after the run.
keep_results() {
  rm -rf "$2" && mkdir -p "$2"
  cp -r "$1/." "$2/"
  cp "$1.serial" "$2/serial.log"
  cp "$1.qemu" "$2/qemu.log"
}
