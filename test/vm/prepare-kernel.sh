#!/bin/bash
# Usage: prepare-kernel.sh PACKAGE VERSION CACHE_DIR INIT_SCRIPT ROOT_INIT_SCRIPT [BUSYBOX]
# Makes CACHE_DIR/kernels/PACKAGE_VERSION/{vmlinuz,initrd.img,release} for one
# Debian kernel package, without installing it: the .deb is fetched with
# apt-get download (kept in CACHE_DIR/debs), unpacked into a temp dir, and the
# modules the guest needs are copied into a busybox initramfs together with
# the order to load them in, and the two init scripts (the initramfs's, and
# init-root, PID 1 once the guest has switched to its real root). Both are
# reused while the package, the init scripts and busybox are unchanged.
# BUSYBOX is a static busybox for the kernel's architecture [/bin/busybox].
# Prints the kernel's directory.
set -euo pipefail
pkg=$1 version=$2 cache=$3 init=$4 root_init=$5 busybox=${6:-/bin/busybox}

# What the guest must load: virtio PCI and block (the ext4 disk), 9p over
# virtio (the host's root and the results share), overlay, ext4, loop (tests
# that mount ext4 images), erofs and squashfs (image layers).
MODULES=(virtio_pci virtio_blk 9pnet_virtio 9p overlay ext4 loop erofs squashfs)

dir="$cache/kernels/${pkg}_${version}"
mkdir -p "$cache/debs" "$dir"
# The deb's name encodes the version with ':' as '%3a'.
deb=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_${version//:/%3a}_*.deb" | head -n 1)
if [ -z "$deb" ]; then
  (cd "$cache/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$version" >&2)
  deb=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_${version//:/%3a}_*.deb" | head -n 1)
  [ -n "$deb" ] || { echo "apt-get download $pkg=$version produced no .deb" >&2; exit 1; }
fi

key=$(cat "$init" "$root_init" "$busybox" <(echo "${MODULES[*]}" "$deb") | sha256sum | cut -d' ' -f1)
if [ -f "$dir/initrd.img" ] && [ "$(cat "$dir/initrd.key" 2>/dev/null)" = "$key" ]; then
  echo "$dir"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/pkg"
release=$(ls "$work/pkg/lib/modules")
# depmod on the unpacked tree, so modprobe can resolve dependencies and
# softdeps (ext4 wants crc32c) in load order without touching the host.
depmod -b "$work/pkg" "$release"

root="$work/initramfs"
mkdir -p "$root/bin" "$root/lib/modules"
cp "$busybox" "$root/bin/busybox"
install -m 0755 "$init" "$root/init"
install -m 0755 "$root_init" "$root/init-root"
: > "$root/lib/modules/load-order"
for module in "${MODULES[@]}"; do
  modprobe -d "$work/pkg" -S "$release" --show-depends "$module"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
  # busybox insmod takes plain modules only: 6.12 ships .ko.xz, 6.1 .ko.
  name=$(basename "$ko" .xz)
  case "$ko" in
    *.xz) xz -dc "$ko" > "$root/lib/modules/$name" ;;
    *) cp "$ko" "$root/lib/modules/$name" ;;
  esac
  echo "$name" >> "$root/lib/modules/load-order"
done

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$dir/initrd.img.new"
cp "$work/pkg/boot/vmlinuz-$release" "$dir/vmlinuz"
echo "$release" > "$dir/release"
mv "$dir/initrd.img.new" "$dir/initrd.img"
echo "$key" > "$dir/initrd.key"
echo "$dir"
