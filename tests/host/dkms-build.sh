#!/bin/bash
# dkms add + build of this tree for the installed Debian kernel, in a private DKMS tree.
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/vm/lib.sh"
check_says_why
kver=$(vm_kver)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$repo/dkms.conf")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src="$tmp/src/dm-vmotion-$ver"
mkdir -p "$src" "$tmp/tree"
(cd "$repo" && cp -r dkms.conf Kbuild dm-vmotion.c dm-vmotion-bitmap.c dm-vmotion-metadata.c include "$src/")
dkms add -m dm-vmotion -v "$ver" --sourcetree "$tmp/src" --dkmstree "$tmp/tree"
dkms build -m dm-vmotion -v "$ver" -k "$kver" --sourcetree "$tmp/src" --dkmstree "$tmp/tree"
for m in dm-vmotion dm-vmotion-bitmap dm-vmotion-metadata; do
	ko=$(find "$tmp/tree/dm-vmotion/$ver/$kver" -name "$m.ko*" | head -1)
	[ -n "$ko" ] || { echo "dkms: $m.ko not built"; exit 1; }
	modinfo -F vermagic "$ko" | grep "^$kver " > /dev/null || { echo "dkms: $ko not built for $kver"; exit 1; }
done
echo "dkms: built dm-vmotion/$ver for $kver"
