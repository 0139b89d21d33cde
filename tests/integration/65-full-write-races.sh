#!/bin/bash
# A write covering a whole region syncs it only if nothing made it stale meanwhile: not when a copy of the region registered while it was in flight (the copy marks the region itself, and a pause drops it with a later write on the source alone), nor when another write reached the source alone during an error pause.
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-delay

wipe $SRC $DST
block() { head -c 4096 /dev/urandom > "/tmp/$1"; }

log "a whole-region write in flight when the region's copy registers"
len=128			# one region of 64 KiB
fill $SRC $SRC_OFF $len 65
# every source write takes 6 s; reads are immediate
dmsetup create fs --table "0 $len delay $SRC $SRC_OFF 0 $SRC $SRC_OFF 6000"
dmsetup create fm --table "0 $len linear /dev/mapper/fs 0"
# 1 KiB/s: a 4 KiB chunk every 4 s
dmsetup reload fm --table "0 $len vmotion /dev/mapper/fs 0 $DST $DST_OFF 128 2 rate 1"
dmsetup resume fm
dmsetup message fm 0 pause
head -c 65536 /dev/urandom > /tmp/w1
dd if=/tmp/w1 of=/dev/mapper/fm bs=64k count=1 oflag=direct conv=notrunc status=none &
w1=$!
sleep 0.5
# a new rate applies at once: the copy registers now, and waits for W1
dmsetup message fm 0 rate 1
dmsetup message fm 0 resume
kill -0 $w1 2>/dev/null || fail "W1 completed before the copy registered: the guest was too slow for this check"
wait $w1 || fail "W1"
c0=$(vm_field fm 4)
for ((i = 0; i < 100; i++)); do
	[ "$(vm_field fm 4)" -gt "$c0" ] && break
	sleep 0.1
done
[ "$(vm_field fm 4)" -gt "$c0" ] || fail "no chunk after W1: $(vm_status fm)"
# between two chunks: W3 past the copy's progress goes to the source alone
block w3
dd if=/tmp/w3 of=/dev/mapper/fm bs=4k seek=12 count=1 oflag=direct conv=notrunc status=none
dmsetup message fm 0 pause	# drops the copy
sleep 1
expect_eq "regions in sync after the pause" 0/1 "$(vm_field fm 0)"
dmsetup message fm 0 rate 0
dmsetup message fm 0 resume
wait_state fm synced 60
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove fm
dmsetup remove fs

log "a whole-region write in flight while an error pause sends another write to the source alone"
len=256			# two regions of 64 KiB
wipe $SRC $DST
fill $SRC $SRC_OFF $len 66
dmsetup create fs --table "0 $len delay $SRC $SRC_OFF 0 $SRC $SRC_OFF 8000"
# region 1 of the destination fails writes
dmsetup create fd --table "0 128 linear $DST $DST_OFF
128 128 error"
dmsetup create fm --table "0 $len linear /dev/mapper/fs 0"
dmsetup reload fm --table "0 $len vmotion /dev/mapper/fs 0 /dev/mapper/fd 0 128 2 rate 1"
dmsetup resume fm
dmsetup message fm 0 pause
# W1 covers region 0 (to both disks; the source takes 8 s)
dd if=/tmp/w1 of=/dev/mapper/fm bs=64k count=1 oflag=direct conv=notrunc status=none &
w1=$!
sleep 0.3
# W_err covers region 1: its destination half fails, the migration pauses
dd if=/tmp/w1 of=/dev/mapper/fm bs=64k seek=1 count=1 oflag=direct conv=notrunc status=none &
werr=$!
for ((i = 0; i < 50; i++)); do
	[ "$(vm_field fm 8)" = error ] && break
	sleep 0.1
done
expect_eq "paused by" error "$(vm_field fm 8)"
# W2 to region 0 goes to the source alone, after W1 there
block w2
dd if=/tmp/w2 of=/dev/mapper/fm bs=4k seek=3 count=1 oflag=direct conv=notrunc status=none &
w2=$!
sleep 0.3
# retry, but keep the copier off: no copy of region 0 when W1 completes
dmsetup message fm 0 resume
dmsetup message fm 0 pause
kill -0 $w1 2>/dev/null || fail "W1 completed before the resume: the guest was too slow for this check"
wait $w1 $werr $w2 || fail "a write failed"
sleep 0.5
expect_eq "regions in sync after W1 completed" 0/2 "$(vm_field fm 0)"
dmsetup message fm 0 pause
dmsetup suspend fd
dmsetup reload fd --table "0 $len linear $DST $DST_OFF"
dmsetup resume fd
dmsetup message fm 0 rate 0
dmsetup message fm 0 resume
wait_state fm synced 60
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove fm
dmsetup remove fs
dmsetup remove fd
