#!/bin/bash
# After a failure (on_error fail) no copy starts, not even one registered and waiting for a write when the failure came; failed stays failed, and the synced count stays truthful: a region written to the source alone is no longer counted.
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-delay

len=1024		# 8 regions of 64 KiB
wipe $SRC $DST
fill $SRC $SRC_OFF $len 61
# every write to the source takes 8 s; reads are immediate
dmsetup create fs --table "0 $len delay $SRC $SRC_OFF 0 $SRC $SRC_OFF 8000"
dmsetup create fd --table "0 $len linear $DST $DST_OFF"
dmsetup create fm --table "0 $len linear /dev/mapper/fs 0"
head -c 4096 /dev/urandom > /tmp/w1
head -c 4096 /dev/urandom > /tmp/w2

# 512 KiB/s: a region every 1/8 s.  W1 makes region 7 hot: regions 0-6
# are copied first, then region 7's copy registers and waits for W1.
dmsetup reload fm --table "0 $len vmotion /dev/mapper/fs 0 /dev/mapper/fd 0 128 4 rate 512 on_error fail"
dmsetup resume fm
dd if=/tmp/w1 of=/dev/mapper/fm bs=4k seek=$((7 * 16)) count=1 oflag=direct conv=notrunc status=none &
w1=$!
for ((i = 0; i < 100; i++)); do
	[ "$(vm_field fm 0)" = 7/8 ] && break
	sleep 0.1
done
expect_eq "regions in sync before the failure" 7/8 "$(vm_field fm 0)"
copied=$(vm_field fm 4)

# region 0 of the destination fails: W2, a write to it, fails the migration
dmsetup suspend fd
dmsetup reload fd --table "0 128 error
128 $((len - 128)) linear $DST $((DST_OFF + 128))"
dmsetup resume fd
dd if=/tmp/w2 of=/dev/mapper/fm bs=4k seek=2 count=1 oflag=direct conv=notrunc status=none &
w2=$!
wait_state fm failed 30
kill -0 $w1 2>/dev/null || fail "W1 completed before the failure: the guest was too slow for this check"
log "failed with W1 in flight: $(vm_status fm)"

wait $w1 || fail "W1 failed"
wait $w2 || fail "W2 failed (its source half succeeded)"
sleep 1
log "after W1 and W2: $(vm_status fm)"
expect_eq "copied KiB after the failure" "$copied" "$(vm_field fm 4)"
# region 0 was written to the source alone; region 7 was never copied
expect_eq "regions in sync" 6/8 "$(vm_field fm 0)"
dmsetup message fm 0 resume
sleep 1
expect_eq "state after resume" failed "$(vm_state fm)"
expect_eq "copied KiB after resume" "$copied" "$(vm_field fm 4)"
# the source has both writes
cmp /tmp/w1 <(dd if=/dev/mapper/fs bs=4k skip=$((7 * 16)) count=1 iflag=direct status=none) || fail "W1 not on the source"
cmp /tmp/w2 <(dd if=/dev/mapper/fs bs=4k skip=2 count=1 iflag=direct status=none) || fail "W2 not on the source"
dmsetup remove fm
dmsetup remove fs
dmsetup remove fd
