#!/bin/bash
# Destination fails mid-copy (dm-error swapped in) with on_error fail: state failed, a dm event, fio keeps going without errors and verifies; the copier stays stopped and the synced count drops as writes reach the source alone.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((128 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 13
# the destination is itself a dm device we can break
dmsetup create dst --table "0 $len linear $DST $DST_OFF"
dmsetup create mig --table "0 $len linear $SRC $SRC_OFF"
dmsetup reload mig --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/dst 0 128 4 rate 4096 on_error fail"
dmsetup resume mig
sleep 3
fio_verify dfail /dev/mapper/mig 128M 8k &
fio_pid=$!
sleep 3
ev=$(event_nr mig)
log "breaking the destination: $(vm_status mig)"
dmsetup suspend dst
dmsetup reload dst --table "0 $len error"
dmsetup resume dst
timeout 120 dmsetup wait mig "$ev" || fail "no dm event after the destination failed"
wait_state mig failed 60
at_fail=$(vm_field mig 0)
wait $fio_pid || fail "fio saw an error after the destination failed"
fio_ok dfail
status=$(vm_status mig)
log "after: $status"
[ "$(vm_field mig 5)" -ge 1 ] || fail "dest errors not counted: $status"
expect_eq "source errors" 0 "$(vm_field mig 6)"
grep -q "migration failed" <(dmesg) || fail "no log line for the failure"
# the application keeps going on the source, reads and writes
fio_verify after /dev/mapper/mig 16M 4k
fio_ok after
# the copier stays stopped: failed is terminal
copied=$(vm_field mig 4)
dmsetup message mig 0 resume
sleep 1
expect_eq "copied KiB after failure" "$copied" "$(vm_field mig 4)"
expect_eq "state after resume" failed "$(vm_state mig)"
# a region in sync that the application writes now (to the source alone)
# is counted out: rewrite every region with what it holds
[ "${at_fail%/*}" -gt 0 ] || fail "no region was in sync at the failure ($at_fail): the check proves little"
dd if=/dev/mapper/mig of=/dev/mapper/mig bs=1M iflag=direct oflag=direct conv=notrunc status=none
expect_eq "regions in sync after every region was written" "0/$((len / 128))" "$(vm_field mig 0)"
dmsetup remove mig
dmsetup remove dst
