#!/bin/bash
# Writes racing the copier: 8K regions, slow copy, verified random writes over a small device keep hitting regions being copied.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((8 * 2048))	# 8 MiB: 1024 regions of 8 KiB
wipe $SRC $DST
fill $SRC $SRC_OFF $len 5
# 512 KiB/s: the copy takes ~16 s, 8 regions per copy.  4 KiB writes never
# cover a region, so each one to an unsynced region is tracked: at queue
# depth 32 many copies find writes in flight to their regions and must
# wait, and writes arriving meanwhile are held until the copy is done.
start_migration race $len 16 rate 512
fio_verify race /dev/mapper/race 8M 4k --loops=6 --iodepth=32 &
fio_pid=$!
sleep 3
expect_eq "state under writes" copying "$(vm_state race)"
wait $fio_pid || fail "fio exited with an error"
fio_ok race
log "after writes: $(vm_status race)"
dmsetup message race 0 rate 0
wait_state race synced 300
expect_eq "dest errors" 0 "$(vm_field race 5)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len
# mirrored writes once in sync keep both sides equal
fio_verify race2 /dev/mapper/race 8M 16k
fio_ok race2
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove race
