#!/bin/bash
# Idle migration of 128 MiB of random data in 1024 regions: synced with an event, source == destination.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((128 * 2048))
wipe /dev/vda /dev/vdb
fill /dev/vda 2048 $len 11
src_sum=$(sum_range /dev/vda 2048 $len)

dmsetup create mig --table "0 $len linear /dev/vda 2048"
dmsetup reload mig --table "0 $len vmotion /dev/vda 2048 /dev/vdb 4096 256"
ev=$(event_nr mig)
dmsetup resume mig
log "status at start: $(vm_status mig)"
# the sync event wakes dmsetup wait without polling
timeout 600 dmsetup wait mig "$ev" || fail "no dm event"
expect_eq state synced "$(vm_state mig)"
expect_eq regions "1024/1024" "$(vm_field mig 0)"
expect_eq "copied KiB" $((128 * 1024)) "$(vm_field mig 4)"
expect_eq "dest errors" 0 "$(vm_field mig 5)"
expect_eq "source errors" 0 "$(vm_field mig 6)"

same_range /dev/vda 2048 /dev/vdb 4096 $len
expect_eq "data through the device" "$src_sum" "$(sum_range /dev/mapper/mig 0 $len)"
dmsetup remove mig
rmmod dm_vmotion
