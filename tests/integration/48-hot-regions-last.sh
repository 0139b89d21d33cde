#!/bin/bash
# The copier leaves the regions the application keeps writing for last: with 4 MiB written all the time, 30 of 64 regions are in sync before any of those 8 is copied (ascending order would have copied them first), and after sync the destination equals the source.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((32 * 2048))		# 64 regions of 512 KiB
wipe $SRC $DST
fill $SRC $SRC_OFF $len 29
dmsetup create hot --table "0 $len linear $SRC $SRC_OFF"
# the hot regions, 2-9: 4 KiB random writes to 1 MiB-5 MiB, 400 a second
fio --name=hot --filename=/dev/mapper/hot --rw=randwrite --bs=4k --direct=1 \
	--ioengine=libaio --iodepth=4 --offset=1M --size=4M --rate_iops=400 \
	--time_based --runtime=600 --randseed=5 --output=/tmp/fio-hot.out &
fio_pid=$!
sleep 2
# 4 regions a second
dmsetup reload hot --table "0 $len vmotion $SRC $SRC_OFF $DST $DST_OFF 1024 2 rate 2048"
dmsetup resume hot
for ((t = 0; t < 600; t++)); do
	synced=$(vm_status hot | cut -d/ -f1)
	[ "$synced" -ge 30 ] && break
	sleep 0.1
done
[ "$synced" -ge 30 ] || fail "only $synced regions in sync after 60 s: $(vm_status hot)"
[ "$synced" -lt 56 ] || fail "$synced regions in sync: the check came too late to tell"
kill -0 $fio_pid 2>/dev/null || fail "the hot writer stopped: $(cat /tmp/fio-hot.out)"
log "$(vm_status hot)"
# the destination still has none of the hot regions, and the cold ones
# after them
cmp -n $((4 << 20)) <(dd if=$DST bs=1M skip=$((DST_OFF / 2048 + 1)) count=4 iflag=direct status=none) /dev/zero ||
	fail "a hot region was copied before 30 others"
same_range $SRC $((SRC_OFF + 10 * 1024)) $DST $((DST_OFF + 10 * 1024)) $((20 * 1024))
# fio exits non-zero when interrupted: its report says whether it erred
kill -INT $fio_pid
wait $fio_pid || true
fio_ok hot
dmsetup message hot 0 rate 0
wait_state hot synced 120
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove hot
