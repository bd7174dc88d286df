#!/bin/bash
# Runs inside the VM guest, whose root is the host's read-only root, as root.
# Usage: guest.sh OUT_DIR PROJECT_DIR (OUT_DIR/tests lists the test files).
# Each compiled test file runs under plain node (tap's runner would start a
# process per file plus coverage, which costs minutes under TCG), writing its
# TAP, exit status and duration to OUT_DIR, where the host reads them. Progress
# goes to the console so a hang shows where it stopped.
set -u
out=$1
project=$2
per_test_timeout=${OVERLAY_VM_TEST_TIMEOUT:-600}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export TMPDIR=/tmp HOME=/tmp
# A test file runs under plain node here, where tap would stop it after its
# default 30 s; under TCG a file can take longer (the timeout below bounds it).
export TAP_TIMEOUT=$per_test_timeout
# Tests that need a filesystem tmpfs is not can make their dirs here.
# (Read from /proc/mounts: the arm64 guest's busybox has no mountpoint.)
if grep -q ' /tmp/ext4 ' /proc/mounts; then
  export OVERLAY_NATIVE_TEST_EXT4=/tmp/ext4
  # Scratch dirs on a disk filesystem, as on the host: tmpfs before 6.6 has no
  # user.* xattrs, which the whiteout and opaque tests need.
  mkdir -p /tmp/ext4/tmp && export TMPDIR=/tmp/ext4/tmp
fi

cd "$project" || exit 90
uname -r > "$out/kernel"

now() { date +%s.%N; }
elapsed() { echo "$1 $(now)" | awk '{ printf "%.1f", $2 - $1 }'; }

start=$(now)
node dist/test/vm/probe.js > "$out/probe.json" 2> "$out/probe.err"
probe_rc=$?
echo "$probe_rc" > "$out/probe.rc"
echo "vm-guest: probe rc=$probe_rc $(elapsed "$start")s"
# A stack the probe could not mount is a failure like a failing test.
status=$(( probe_rc == 0 ? 0 : 1 ))

mkdir -p "$out/tap" "$out/claimed"
# run_one FILE: one test file under plain node, its TAP, status and time kept.
run_one() {
  file=$1
  # Named by the path under dist/test: cli/mount.test.js and mount.test.js must not share files.
  name=$(printf '%s' "${file#dist/test/}" | sed 's|/|-|g; s|\.js$||')
  start=$(now)
  timeout -k 10 "$per_test_timeout" node "$file" > "$out/tap/$name.tap" 2>&1
  rc=$?
  echo "$rc" > "$out/tap/$name.rc"
  elapsed "$start" > "$out/tap/$name.time"
  echo "vm-guest: $file rc=$rc $(cat "$out/tap/$name.time")s"
}
# worker: runs every file no other worker has claimed (mkdir is the atomic
# claim), so the workers share the list however long each file takes.
worker() {
  while read -r file; do
    [ -n "$file" ] || continue
    mkdir "$out/claimed/$(printf '%s' "$file" | sed 's|/|-|g')" 2> /dev/null || continue
    run_one "$file"
  done < "$out/tests"
}
# Files run side by side, as npm test runs them on the host (they are written
# for it: fresh scratch dirs, and the files that check the whole machine for
# leftover superblocks take test/helpers/superblock-lock.ts). The guest has
# two vCPUs and most files wait on a spawned process or the kernel, so one
# file at a time left a vCPU idle under TCG.
jobs=${OVERLAY_VM_GUEST_JOBS:-2}
i=0
while [ "$i" -lt "$jobs" ]; do
  worker &
  i=$((i + 1))
done
wait
for rc_file in "$out"/tap/*.rc; do
  [ -e "$rc_file" ] || continue
  [ "$(cat "$rc_file")" -eq 0 ] || status=1
done
exit "$status"
