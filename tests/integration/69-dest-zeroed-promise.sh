#!/bin/bash
# dest_zeroed holds only while nothing wrote the destination: a mirrored write that reaches past a copy's progress between two chunks, then zeroes written past it, leave the destination equal to the source; the table prints skip_zeroes once resumed (dest_zeroed only while loaded and not yet resumed), so reloading the printed line never promises zeroes again; metadata that records an earlier start turns dest_zeroed off, with a log line. Plain disks.
. "$(dirname "$0")/../lib.sh"
load_vmotion
va=$(majmin $SRC) vb=$(majmin $DST)

log "a write across the copy's progress, between two chunks"
len=$((8 * 2048))
wipe $SRC $DST
# rate 8: one 4 KiB chunk per 1/8 s, the copier resting in between
start_migration e $len 1024 rate 8 dest_zeroed
for ((i = 0; i < 100; i++)); do
	[ "$(vm_field e 4)" -gt 0 ] && break
	sleep 0.1
done
[ "$(vm_field e 4)" -gt 0 ] || fail "nothing copied in 10 s: $(vm_status e)"
[ "$(vm_field e 4)" -lt 128 ] || fail "the copy went too far to test: $(vm_status e)"
# data over [0, 256K): across the copy's progress, so to both disks
dd if=/dev/urandom of=/dev/mapper/e bs=256k count=1 oflag=direct status=none
# zeroes over [128K, 256K): past the progress, to the source alone
dd if=/dev/zero of=/dev/mapper/e bs=128k seek=1 count=1 oflag=direct status=none
dmsetup message e 0 rate 0
wait_state e synced 300
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove e

log "the printed table does not promise zeroes again"
len=$((32 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 5
dmsetup create z --table "0 $len linear $SRC $SRC_OFF"
dmsetup load z --table "0 $len vmotion $SRC $SRC_OFF $DST $DST_OFF 1024 1 dest_zeroed"
expect_eq "inactive table, not yet resumed" "0 $len vmotion $va $SRC_OFF $vb $DST_OFF 1024 1 dest_zeroed" \
	"$(dmsetup table --inactive z)"
dmsetup resume z
wait_state z synced 600
line=$(dmsetup table z)
expect_eq "table once resumed" "0 $len vmotion $va $SRC_OFF $vb $DST_OFF 1024 1 skip_zeroes" "$line"
# the same line again, slowed down: a reload starts the copy over
dmsetup reload z --table "${line/ 1 skip_zeroes/ 3 rate 1 skip_zeroes}"
dmsetup suspend z
dmsetup resume z
# the first half of regions 2..9 zeroed, on the source alone
for r in 2 3 4 5 6 7 8 9; do
	dd if=/dev/zero of=/dev/mapper/z bs=256k seek=$((r * 2)) count=1 oflag=direct status=none
done
dmsetup message z 0 rate 0
wait_state z synced 600
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove z

log "metadata that records an earlier start: dest_zeroed ignored"
len=$((8 * 2048))
wipe /dev/vdc
line="0 $len vmotion $SRC $SRC_OFF $DST $DST_OFF 1024 4 metadata /dev/vdc 0 dest_zeroed"
dmsetup create m --table "$line"
wait_state m synced 300
dmsetup remove m
dmesg -C
dmsetup create m --table "$line"
dmesg | matches "dest_zeroed ignored: the metadata records an earlier start" ||
	fail "no log line: $(dmesg | grep vmotion | tail -3)"
dmsetup remove m
