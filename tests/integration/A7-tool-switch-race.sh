#!/bin/bash
# A write fails on the destination while the switch's suspend waits for it: the status was synced at the first check and the destination answered its read, but after the suspend the device is out of sync; switch resumes it on the vmotion table (exit 1), the write succeeded on the source, abort then returns every byte.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((32 * 2048))
migrated_on_dm r $len 71
dd if=/dev/vda of=/tmp/expect bs=1M count=$((len / 2048)) iflag=direct status=none
mig_table=$(dmsetup table rm)

# From now on the destination reads at once from its disk, but holds each
# write for 10 s and then fails it (dm-delay with an error device for
# writes): a write issued just before the switch is still in flight when
# the tool checks the status and reads the destination, and fails while
# the suspend waits for it.
dmsetup create re --table "0 $len error"
dmsetup reload rd --table "0 $len delay /dev/vdb 0 0 /dev/mapper/re 0 10000"
dmsetup resume rd

head -c 4096 /dev/urandom > /tmp/blk
dd if=/tmp/blk of=/dev/mapper/rm bs=4k seek=1000 count=1 oflag=direct conv=notrunc status=none &
dd_pid=$!
for ((t = 0; t < 100; t++)); do
	# delay's status: the reads, writes and flushes it holds
	read -r _ _ _ _ writes _ < <(dmsetup status rd)
	[ "$writes" -ge 1 ] && break
	sleep 0.1
done
[ "$writes" -ge 1 ] || fail "the write never reached the destination"
expect_eq "state with the write in flight" synced "$(vm_state rm)"

vmotion_refused rm "$mig_table" 1 "rm: fell out of sync during the suspend (paused, " switch rm
wait $dd_pid || fail "the application's write failed"
expect_eq "state after the refused switch (on_error pause)" paused "$(vm_state rm)"
expect_eq "paused by" error "$(vm_field rm 8)"
[ "$(vm_field rm 5)" -ge 1 ] || fail "the destination's write error was not counted: $(vm_status rm)"

# the write is on the source and the device reads it back
cmp /tmp/blk <(dd if=/dev/mapper/rm bs=4k skip=1000 count=1 iflag=direct status=none) ||
	fail "the device does not read back the write"
cmp /tmp/blk <(dd if=/dev/vda bs=4k skip=1000 count=1 iflag=direct status=none) ||
	fail "the write is not on the source"

# switch still refuses (not in sync), abort returns to the source intact
vmotion_refused rm "$mig_table" 1 "rm: not in sync (paused, " switch rm
vmotion abort rm > /tmp/ab.out 2>&1 || { cat /tmp/ab.out; fail "abort"; }
expect_eq "table after abort" "0 $len linear $(majmin /dev/mapper/rs) 0" "$(dmsetup table rm)"
# every byte: what was filled in, with the one write on top
dd if=/tmp/blk of=/tmp/expect bs=4k seek=1000 conv=notrunc status=none
cmp /tmp/expect <(dd if=/dev/mapper/rm bs=1M iflag=direct status=none) ||
	fail "the device after abort is not what was written to it"
dmsetup remove rm
dmsetup remove rd
dmsetup remove re
dmsetup remove rs
