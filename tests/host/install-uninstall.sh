#!/bin/bash
# make install DESTDIR=... puts every part in place, make uninstall leaves no file behind.
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. tests/vm/lib.sh
check_says_why
kver=$(vm_kver)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make -s install DESTDIR="$stage" PREFIX=/usr KVER="$kver" > /dev/null
for f in "lib/modules/$kver/extra/dm-vmotion.ko" "lib/modules/$kver/extra/dm-vmotion-bitmap.ko" \
	"lib/modules/$kver/extra/dm-vmotion-metadata.ko" \
	usr/sbin/vmotion usr/share/man/man8/vmotion.8 etc/vmotion/migrations.conf.example; do
	[ -s "$stage/$f" ] || { echo "install: $f missing"; exit 1; }
done
rules=$(find "$stage" -name 69-vmotion.rules)
unit=$(find "$stage" -name 'vmotion-migrate@.service')
restore=$(find "$stage" -name 'vmotion-restore.service')
[ -n "$rules" ] && [ -n "$unit" ] && [ -n "$restore" ] || { echo "install: udev rule or unit missing"; exit 1; }
grep -q '^ExecStart=/usr/sbin/vmotion restore$' "$restore" || { echo "install: restore unit has the wrong path"; exit 1; }
grep -q 'IMPORT{program}="/usr/sbin/vmotion udev-match"' "$rules" || { echo "install: rule has the wrong path"; exit 1; }
grep -q '^ExecStart=/usr/sbin/vmotion migrate --from-config %I$' "$unit" || { echo "install: unit has the wrong path"; exit 1; }
"$stage/usr/sbin/vmotion" --help | grep "^usage: vmotion migrate" > /dev/null || { echo "install: tool does not run"; exit 1; }
make -s uninstall DESTDIR="$stage" PREFIX=/usr KVER="$kver" > /dev/null
left=$(find "$stage" -type f)
[ -z "$left" ] || { echo "uninstall left: $left"; exit 1; }
echo "install/uninstall: clean"

# make, make modules, tools and install build and install; packages are
# make deps's (and the rig's) business
for target in all modules tools install; do
	! make -n "$target" KVER="$kver" 2>/dev/null | grep 'deps.sh' > /dev/null ||
		{ echo "make $target would install packages"; exit 1; }
done
# without headers for the kernel asked for, make says how to choose one
out=$(make modules KVER=0.0-none 2>&1) && { echo "make modules built for a kernel with no headers"; exit 1; }
echo "$out" | grep "no kernel build tree '/lib/modules/0.0-none/build' for kernel 0.0-none: install its headers" > /dev/null ||
	{ echo "make modules said: $out"; exit 1; }
echo "make: no package installed but by make deps"
