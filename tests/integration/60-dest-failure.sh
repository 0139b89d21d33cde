#!/bin/bash
# Destination fails mid-copy (dm-error swapped in): state failed, a dm event, fio keeps going without errors and verifies.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((128 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 13
# the destination is itself a dm device we can break
dmsetup create dst --table "0 $len linear $DST $DST_OFF"
dmsetup create mig --table "0 $len linear $SRC $SRC_OFF"
dmsetup reload mig --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/dst 0 128 2 rate 4096"
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
# the copier stays stopped
copied=$(vm_field mig 4)
dmsetup message mig 0 resume
sleep 1
expect_eq "copied KiB after failure" "$copied" "$(vm_field mig 4)"
dmsetup remove mig
dmsetup remove dst
