#!/bin/bash
# A write covering a whole unsynced region makes it in sync without a copy; a partial write does not.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((16 * 2048))	# 16 MiB in 256 regions of 64 KiB
wipe $SRC $DST
fill $SRC $SRC_OFF $len 9
# 64 KiB/s: region 0 is copied in 8 KiB chunks over a second, then the
# copier is paused, so that nothing but the writes below changes the map
start_migration full $len 128 rate 64
for _ in $(seq 300); do
	[ "$(vm_field full 0)" = 1/256 ] && break
	sleep 0.1
done
dmsetup message full 0 pause
sleep 0.5	# a chunk in flight finishes
expect_eq "regions in sync after the first copy" 1/256 "$(vm_field full 0)"
copied=$(vm_field full 4)

# one 64 KiB write covering region 10, one 4 KiB write into region 20
head -c 65536 /dev/urandom > /tmp/region10
head -c 4096 /dev/urandom > /tmp/part20
dd if=/tmp/region10 of=/dev/mapper/full bs=64k seek=10 count=1 oflag=direct conv=notrunc status=none
dd if=/tmp/part20 of=/dev/mapper/full bs=4k seek=$((20 * 16 + 3)) count=1 oflag=direct conv=notrunc status=none

expect_eq "synced regions" "2/256" "$(vm_field full 0)"
expect_eq "copied KiB (no copy for region 10)" "$copied" "$(vm_field full 4)"
# region 10 is on both sides, region 20's write only on the source so far
expect_eq "region 10 on the destination" "$(md5sum < /tmp/region10 | cut -d' ' -f1)" \
	"$(sum_range $DST $((DST_OFF + 10 * 128)) 128)"
same_range $SRC $((SRC_OFF + 10 * 128)) $DST $((DST_OFF + 10 * 128)) 128
expect_eq "region 20's write on the source" "$(md5sum < /tmp/part20 | cut -d' ' -f1)" \
	"$(sum_range $SRC $((SRC_OFF + 20 * 128 + 24)) 8)"
[ "$(sum_range $DST $((DST_OFF + 20 * 128 + 24)) 8)" != "$(md5sum < /tmp/part20 | cut -d' ' -f1)" ] ||
	fail "a partial write reached the destination of an unsynced region"

dmsetup message full 0 rate 0
dmsetup message full 0 resume
wait_state full synced 120
# all but region 10, plus the chunks of region 1 copied before the pause
# (less than a region): copied again from its start
c=$(vm_field full 4)
[ "$c" -ge $((255 * 64)) ] && [ "$c" -lt $((256 * 64)) ] ||
	fail "copied $c KiB: expected all regions but region 10 ($((255 * 64)) KiB, plus less than a region)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove full
