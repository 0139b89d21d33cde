#!/bin/bash
# Polled I/O (io_uring hipri) on a migrating device whose disks have poll queues: the destination's half of a mirrored write is not left on a poll queue that nothing polls; fio verifies every block.
. "$(dirname "$0")/../lib.sh"
load_vmotion

for d in vda vdb; do
	expect_eq "$d polls (virtio_blk.poll_queues)" 1 "$(cat /sys/block/$d/queue/io_poll)"
done
len=$((32 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 59
start_migration pl $len 128 rate 8192
q=/sys/dev/block/$(majmin /dev/mapper/pl)/queue/io_poll
expect_eq "the vmotion device polls" 1 "$(cat $q)"
# regions in sync and not: writes to both disks and to the source alone
timeout 300 fio --name=poll --filename=/dev/mapper/pl --size=32M --bs=4k \
	--rw=randwrite --ioengine=io_uring --hipri --direct=1 --iodepth=8 \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --randseed=59 \
	> /tmp/fio-poll.out 2>&1 || { cat /tmp/fio-poll.out; fail "polled fio failed or hung"; }
fio_ok poll
dmsetup message pl 0 rate 0
wait_state pl synced 300
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove pl
