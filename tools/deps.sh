#!/bin/bash
# Install, with apt, everything building and testing dm-vmotion needs.
# A quick no-op when all of it is present.
set -euo pipefail

pkgs=(
	linux-image-amd64 linux-headers-amd64 linux-source
	qemu-system-x86 busybox-static cpio
	dmsetup lvm2 libdevmapper-dev libblkid-dev libudev-dev
	fio thin-provisioning-tools nbd-server nbd-client iproute2 e2fsprogs fdisk kmod bc flex bison python3 gnuplot-nox openssl
	gcc make libelf-dev libssl-dev pkg-config dkms udev systemd
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done

# linux-headers-amd64 may lag behind a newer linux-image: make sure every
# installed kernel image has its own headers.
for img in /boot/vmlinuz-*; do
	[ -e "$img" ] || continue
	v=${img#/boot/vmlinuz-}
	[ -d "/lib/modules/$v/build" ] || missing+=("linux-headers-$v")
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root to install)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
