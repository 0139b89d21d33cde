#!/bin/bash
# Migration under fio random writes (crc32c verify, backlog) at 4K and 64K blocks, regions of 8 and 1024 sectors.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))
for case in "8 4k" "8 64k" "1024 4k" "1024 64k"; do
	set -- $case
	region=$1 bs=$2
	log "region $region sectors, fio bs $bs"
	wipe $SRC $DST
	fill $SRC $SRC_OFF $len 3
	# slow enough that fio runs while regions are being copied
	start_migration mig $len "$region" rate 4096
	fio_verify "r$region-$bs" /dev/mapper/mig 64M "$bs" &
	fio_pid=$!
	sleep 2
	expect_eq "state during fio" copying "$(vm_state mig)"
	wait $fio_pid || fail "fio exited with an error (region $region, bs $bs)"
	fio_ok "r$region-$bs"
	log "after fio: $(vm_status mig)"
	dmsetup message mig 0 rate 0
	wait_state mig synced 600
	expect_eq "dest errors" 0 "$(vm_field mig 5)"
	same_range $SRC $SRC_OFF $DST $DST_OFF $len
	dmsetup remove mig
done
