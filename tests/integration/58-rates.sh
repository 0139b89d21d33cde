#!/bin/bash
# Rates: 4 GiB/s and the largest rate, in the table and by message, copy and sync (64-bit arithmetic); at 16 KiB/s 4 MiB regions are copied 4 KiB at a time, not a region at once; a new rate applies at once, not after the deadline the old one set.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((32 * 2048))	# 32 MiB in 8 regions of 4 MiB
region=8192
wipe $SRC $DST
fill $SRC $SRC_OFF $len 58

for rate in 4194304 4294967295; do
	log "rate $rate in the table"
	wipe $DST
	start_migration rt $len $region rate $rate
	wait_state rt synced 300
	expect_eq "rate in status" $rate "$(vm_field rt 3)"
	dmsetup table rt | matches " rate $rate\$" || fail "table: $(dmsetup table rt)"
	same_range $SRC $SRC_OFF $DST $DST_OFF $len
	dmsetup remove rt
done

log "4 GiB/s by message, mid-copy"
wipe $DST
start_migration rt $len $region rate 1024
sleep 1
dmsetup message rt 0 rate 4194304
wait_state rt synced 300
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove rt

log "16 KiB/s with 4 MiB regions: 1/8 s of the rate per copy"
wipe $DST
start_migration rt $len $region rate 16
t0=$(date +%s.%N)
sleep 4
c=$(vm_field rt 4)
t=$(echo "$(date +%s.%N) - $t0" | bc)
# at most the rate over the time, plus a 4 KiB chunk in flight
limit=$(echo "$t * 16 + 8" | bc | cut -d. -f1)
log "copied $c KiB in ${t}s at 16 KiB/s"
[ "$c" -gt 0 ] || fail "nothing copied in ${t}s at 16 KiB/s"
[ "$c" -le "$limit" ] || fail "copied $c KiB in ${t}s at 16 KiB/s (at most $limit): a copy moved more than 1/8 s of the rate"
expect_eq "regions in sync" 0/8 "$(vm_field rt 0)"

log "raising the rate applies at once"
# the old deadline is 1/4 s away per chunk; a copier that waited for a
# deadline computed at 16 KiB/s for a whole region would wait 256 s
dmsetup message rt 0 rate 4294967295
wait_state rt synced 120
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove rt

log "writes during a chunked copy: below its progress to both disks, above it to the source"
wipe $DST
start_migration rt $len $region rate 64
fio_verify chunked /dev/mapper/rt 8M 4k
fio_ok chunked
log "after fio: $(vm_status rt)"
dmsetup message rt 0 rate 0
wait_state rt synced 120
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove rt
