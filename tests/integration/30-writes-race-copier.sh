#!/bin/bash
# Writes racing the copier: 8K regions, copies made long by a slow (dm-delay) destination, verified random writes keep hitting regions being copied.
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-delay

len=$((8 * 2048))	# 8 MiB: 1024 regions of 8 KiB
wipe $SRC $DST
fill $SRC $SRC_OFF $len 5
# every write to the destination takes 100 ms: each copy stays in flight
# that long, and writes to its regions are held until it is done
dmsetup create slowdst --table "0 $len delay $DST $DST_OFF 0 $DST $DST_OFF 100"
dmsetup create race --table "0 $len linear $SRC $SRC_OFF"
# 4 KiB writes never cover a region, so each one to an unsynced region is
# tracked too: copies also wait for writes in flight to their regions
dmsetup reload race --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/slowdst 0 16 2 rate 256"
dmsetup resume race
fio_verify race /dev/mapper/race 8M 4k --loops=4 --iodepth=32 &
fio_pid=$!
sleep 3
expect_eq "state under writes" copying "$(vm_state race)"
wait $fio_pid || fail "fio exited with an error"
fio_ok race
log "after writes: $(vm_status race)"
# the race was run: writes did meet copies in flight and were held
[ "$(vm_field race 7)" -gt 0 ] || fail "no write was held by a copy: the race path was not exercised"
dmsetup message race 0 rate 0
wait_state race synced 300
expect_eq "dest errors" 0 "$(vm_field race 5)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len
# mirrored writes once in sync keep both sides equal
fio_verify race2 /dev/mapper/race 8M 16k
fio_ok race2
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove race
dmsetup remove slowdst
