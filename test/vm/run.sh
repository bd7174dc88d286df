#!/bin/bash
# npm run test:vm: the integration tests on stock Debian 12 kernels, booted in
# qemu, because the mount engine takes a different rung of its ladder on each:
# 6.1 (linux-image-amd64) has no lowerdir+ and uses mount(2); 6.12 has
# lowerdir+ but no layer fds. Each kernel boots once, with a busybox initramfs
# that mounts this machine's root read-only over 9p and switches to it as its
# root (a chroot would forbid the user namespaces idmapped mounts need), so
# the guest runs the host's node on the compiled tests in dist/test.
# Runs as root (apt-get, qemu). Creates nothing on the host outside its cache
# and one temp dir: no loop devices, no mounts.
#
# Environment:
#   OVERLAY_VM_KERNELS   Debian packages to boot (meta or exact names)
#                        [linux-image-amd64 linux-image-6.12-amd64]
#   OVERLAY_VM_TESTS     test files to run, relative to the project
#                        [every dist/test/**/*.test.js but the excluded]
#   OVERLAY_VM_EXCLUDE   files left out, each a name or the end of a path
#                        (cli/apply.test.js): the ones that test the build,
#                        packaging, pure JavaScript or speed, not the kernel,
#                        and the leak soak (npm test runs them all on this
#                        kernel; under TCG each file costs ~10 s to start)
#   OVERLAY_VM_ACCEL     tcg, kvm, or auto [auto: KVM only if a probe boot works]
#   OVERLAY_VM_CPU       qemu -cpu model under TCG [qemu64]
#   OVERLAY_VM_TIMEOUT   seconds per kernel boot, whole suite [1500]
#   OVERLAY_VM_PARALLEL  kernels booted at once [1]
#   OVERLAY_VM_TEST_TIMEOUT  seconds per test file in the guest [600]
#   OVERLAY_VM_GUEST_JOBS    test files run side by side in a guest [2]
#   OVERLAY_VM_CACHE     cache dir [${XDG_CACHE_HOME:-~/.cache}/overlay-native-vm]
# Each kernel's TAP output, serial log and probe report are kept in
# $OVERLAY_VM_CACHE/results/<kernel release>/ until the next run.
set -euo pipefail

project=$(cd "$(dirname "$0")/../.." && pwd)
here="$project/test/vm"
cache=${OVERLAY_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/overlay-native-vm}
read -r -a kernels <<< "${OVERLAY_VM_KERNELS:-linux-image-amd64 linux-image-6.12-amd64}"
default_excluded="builds.test.js module-formats.test.js package.test.js bench-smoke.test.js readme.test.js
  leaks.test.js option-properties.test.js usage.test.js privilege.test.js errors.test.js option-string.test.js mount-request.test.js
  live.test.js promises.test.js readme-session.test.js podman-diff.test.js podman-unpack.test.js podman-commit.test.js podman-save-roundtrip.test.js tar-proof.test.js convert-crash.test.js
  layer-changes-memory.test.js layer-tools.test.js convert-kill9.test.js
  cli/apply.test.js cli/layers.test.js messages.test.js raw-args.test.js whiteout-paths-cli.test.js
  oci-500-layers.test.js"
# (live.test.js: the CLI's wrappers of remount, replace and umount, which
# remount.test.js and replace.test.js test directly; at ~30 s a kernel under
# TCG it does not fit the CI budget, where test:vm must stay under ~15 min.
# podman-diff.test.js, podman-unpack.test.js, podman-commit.test.js,
# podman-save-roundtrip.test.js: peer comparisons, not a kernel's: podman needs its
# store writable, and the guest's root is the host's, read-only.
# tar-proof.test.js: GNU tar against toOci on a copy of /usr/share/doc, file
# work and no mount, ~110 s a kernel under TCG; to-oci-fidelity runs here.
# promises.test.js: the CLI's own checks, ~50 s of spawned CLIs on the host;
# the library calls under them are tested per kernel by their own files.
# readme-session.test.js: the docs' sessions show what this machine's kernel prints.
# convert-crash.test.js, convert-kill9.test.js: convert killed and run again, file work and no
# mount, dozens of spawned CLIs; whiteout-leftovers and image-crash run here.
# layer-changes-memory.test.js: a memory soak of the layer walk, as leaks.test.js.
# cli/layer-tools.test.js: the CLI's wrappers of convert and diff, file work;
# the library's layer tests run here. Both cost ~50 s a kernel under TCG.
# cli/apply, cli/layers, messages, raw-args, whiteout-paths-cli: the CLI's
# arguments, messages and exit codes over apply, whiteout and opaque, whose
# library calls run here in their own files; 190 s of a kernel's file time
# under TCG. The CLI files that show a kernel's differences stay: doctor,
# mount, seeds, docker, the image walkthroughs.
# oci-500-layers.test.js: 501 layers unpacked, file work, ~100 s a kernel under
# TCG; 500-layer mounts with long paths run per kernel in mount/engine.test.js.)
read -r -a excluded <<< "$(echo ${OVERLAY_VM_EXCLUDE-$default_excluded})"
kernel_timeout=${OVERLAY_VM_TIMEOUT:-1500}
accel=${OVERLAY_VM_ACCEL:-auto}
export DEBIAN_FRONTEND=noninteractive
stage_name=test:vm
. "$here/host-lib.sh"

[ "$(id -u)" = 0 ] || { echo "test:vm needs root (apt-get, and the guest runs the tests as root)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/overlay-native-vm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

stage "host packages"
# busybox-static because the initramfs has no libc.
install_missing qemu-system-x86_64=qemu-system-x86 cpio=cpio xz=xz-utils depmod=kmod \
  mkfs.ext4=e2fsprogs dpkg-deb=dpkg timeout=coreutils busybox-static

stage "compile TypeScript"
[ -d "$project/node_modules" ] || { echo "run npm install first" >&2; exit 1; }
(cd "$project" && npm run --silent build:ts)
# The guest loads the same addon: fail here, not in every test, if it is missing.
(cd "$project" && node -e "require('./dist/lib/core/native.js')")

tests=()
if [ -n "${OVERLAY_VM_TESTS:-}" ]; then
  read -r -a tests <<< "$OVERLAY_VM_TESTS"
else
  while IFS= read -r file; do
    skip=
    for name in "${excluded[@]}"; do case "/$file" in */"$name") skip=1 ;; esac; done
    [ -n "$skip" ] || tests+=("$file")
  done < <(cd "$project" && find dist/test -name '*.test.js' -not -path 'dist/test/helpers/*' -not -path 'dist/test/fixtures/*' | sort)
fi
echo "tests: ${tests[*]}"
[ "${#tests[@]}" -gt 0 ] || { echo "no test files selected" >&2; exit 1; }

stage "kernels (cache: $cache)"
kernel_dirs=()
for meta in "${kernels[@]}"; do
  prepare_kernel "$meta" "$cache"
  kernel_dirs+=("$kernel_dir")
done

stage "project disk"
# Mounted over the project's 9p view: under TCG every 9p lookup is slow.
project_disk "$project" "$tmp/project.img"

# boot KERNEL_DIR OUT_DIR ACCEL TIMEOUT: one guest run; OUT_DIR holds `start`
# (run in the guest's root) and receives the results. Returns qemu's status, or 124
# when the timeout killed it.
boot() {
  local kdir=$1 out=$2 how=$3 limit=$4 cpu
  # Under KVM the guest gets the host's CPU; under TCG a plain x86-64 CPU:
  # emulating the vector extensions that -cpu max offers made the tests
  # 15-25% slower in measurements here.
  if [ "$how" = kvm ]; then cpu=host; else cpu=${OVERLAY_VM_CPU:-qemu64}; fi
  truncate -s 1G "$out.ext4" && mkfs.ext4 -q -F "$out.ext4"
  echo "$project" > "$out/project"
  # thread=multi: one host thread per vCPU under TCG, so the guest's two test
  # workers run side by side.
  if [ "$how" = tcg ]; then how=tcg,thread=multi; fi
  timeout -k 10 "$limit" qemu-system-x86_64 -accel "$how" -cpu "$cpu" -smp 2 -m 2048 \
    -display none -monitor none -serial "file:$out.serial" -no-reboot \
    -kernel "$kdir/vmlinuz" -initrd "$kdir/initrd.img" \
    -append "console=ttyS0 panic=-1 loglevel=4" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$out,mount_tag=vmout,security_model=none" \
    -drive "file=$tmp/project.img,format=raw,if=virtio,readonly=on" \
    -drive "file=$out.ext4,format=raw,if=virtio,cache=unsafe" \
    < /dev/null > "$out.qemu" 2>&1
}

stage "acceleration"
if [ "$accel" = auto ]; then
  accel=tcg
  if [ -w /dev/kvm ]; then
    # KVM can hang here with no output (nested virtualization): trust it
    # only if a guest reaches its init and reports back within the limit.
    mkdir -p "$tmp/kvm-probe"
    printf '#!/bin/sh\nexit 0\n' > "$tmp/kvm-probe/start"
    # (Its stderr is the shell's report of how qemu died, already in .qemu.)
    if boot "${kernel_dirs[-1]}" "$tmp/kvm-probe" kvm 25 2> /dev/null && [ "$(cat "$tmp/kvm-probe/status" 2> /dev/null)" = 0 ]; then
      accel=kvm
    else
      echo "KVM probe boot failed; qemu said: $(tail -n 3 "$tmp/kvm-probe.qemu" | tr '\n' ' ')"
    fi
  fi
fi
echo "accelerator: $accel"

# run_kernel KERNEL_DIR: boots one kernel on the tests; its results land in
# $tmp/out-<release>. Its own status: nonzero when qemu failed or timed out.
run_kernel() {
  local kdir=$1 release out qemu_rc=0
  release=$(cat "$kdir/release")
  out="$tmp/out-$release"
  mkdir -p "$out"
  printf '%s\n' "${tests[@]}" > "$out/tests"
  printf '#!/bin/sh\nexport OVERLAY_VM_TEST_TIMEOUT=%q OVERLAY_VM_GUEST_JOBS=%q\nexec /bin/bash %q %q %q\n' \
    "${OVERLAY_VM_TEST_TIMEOUT:-600}" "${OVERLAY_VM_GUEST_JOBS:-2}" "$here/guest.sh" /run/vm-out "$project" > "$out/start"
  boot "$kdir" "$out" "$accel" "$kernel_timeout" || qemu_rc=$?
  echo "$qemu_rc" > "$out.rc"
}

# One kernel at a time by default: on this 2-core machine two guests side by
# side each ran ~1.7x slower (6.1 reached file 67 of 80 and 6.12 file 59 in
# 21 min, where one after the other each takes ~13 min), so side by side
# gained nothing and came near the per-kernel limit. A machine with cores to
# spare can set OVERLAY_VM_PARALLEL.
parallel=${OVERLAY_VM_PARALLEL:-1}
outs=()
status=0
pids=()
for kdir in "${kernel_dirs[@]}"; do
  if [ "${#pids[@]}" -ge "$parallel" ]; then wait "${pids[0]}" || true; pids=("${pids[@]:1}"); fi
  stage "boot $(cat "$kdir/release") and run the tests ($accel, limit ${kernel_timeout}s)"
  run_kernel "$kdir" &
  pids+=($!)
done
wait "${pids[@]}" || true
for kdir in "${kernel_dirs[@]}"; do
  release=$(cat "$kdir/release")
  out="$tmp/out-$release"
  qemu_rc=$(cat "$out.rc" 2> /dev/null || echo 1)
  stage "results of $release"
  # Progress lines the guest wrote to the console, then the results.
  grep -a '^vm-' "$out.serial" || true
  if [ "$qemu_rc" -ne 0 ] || [ ! -f "$out/status" ]; then
    if [ "$qemu_rc" -eq 124 ]; then echo "TIMEOUT: $release did not finish in ${kernel_timeout}s"; else echo "qemu exited $qemu_rc"; fi
    echo "--- qemu output"; cat "$out.qemu"
    echo "--- serial console of $release"; cat "$out.serial"
    echo "---"
    status=1
  fi
  node "$project/dist/test/vm/report.js" detail "$out" || status=1
  kept="$cache/results/$release"
  keep_results "$out" "$kept"
  outs+=("$kept")
done

stage "summary"
node "$project/dist/test/vm/report.js" summary "${outs[@]}" || status=1
exit "$status"
