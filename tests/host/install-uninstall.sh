#!/bin/bash
# make install DESTDIR=... puts every part in place, make uninstall leaves no file behind.
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
. tests/vm/lib.sh
check_says_why
kver=$(vm_kver)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make -s install DESTDIR="$stage" PREFIX=/usr > /dev/null
for f in "lib/modules/$kver/extra/dm-vmotion.ko" "lib/modules/$kver/extra/dm-vmotion-bitmap.ko" \
	usr/sbin/vmotion usr/share/man/man8/vmotion.8 etc/vmotion/migrations.conf.example; do
	[ -s "$stage/$f" ] || { echo "install: $f missing"; exit 1; }
done
rules=$(find "$stage" -name 69-vmotion.rules)
unit=$(find "$stage" -name 'vmotion-migrate@.service')
[ -n "$rules" ] && [ -n "$unit" ] || { echo "install: udev rule or unit missing"; exit 1; }
grep -q 'IMPORT{program}="/usr/sbin/vmotion udev-match"' "$rules" || { echo "install: rule has the wrong path"; exit 1; }
grep -q '^ExecStart=/usr/sbin/vmotion migrate --from-config %I$' "$unit" || { echo "install: unit has the wrong path"; exit 1; }
"$stage/usr/sbin/vmotion" --help | grep -q "^usage: vmotion migrate" || { echo "install: tool does not run"; exit 1; }
make -s uninstall DESTDIR="$stage" PREFIX=/usr > /dev/null
left=$(find "$stage" -type f)
[ -z "$left" ] || { echo "uninstall left: $left"; exit 1; }
echo "install/uninstall: clean"
