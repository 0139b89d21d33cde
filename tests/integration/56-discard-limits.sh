#!/bin/bash
# Discards as a linear table on the source would take them: none from a source that has none (dm-crypt without allow_discards), the source's limits when the destination has none; a discard the source refuses is not a source error, one the destination refuses does not stop the migration (a write-zeroes it refuses does).
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-crypt
modprobe dm-flakey

len=$((32 * 2048))
half=$((len / 2))
key=$(printf '%064x' 56)
queue() {
	cat "/sys/dev/block/$(majmin "/dev/mapper/$1")/queue/$2"
}
# same_discard A B: the devices advertise the same discard limits
same_discard() {
	local q
	for q in discard_max_bytes discard_granularity; do
		expect_eq "$q of $2 (as $1)" "$(queue "$1" $q)" "$(queue "$2" $q)"
	done
}
wipe $SRC $DST
fill $SRC $SRC_OFF $len 56

log "source without discard (dm-crypt), destination with"
dmsetup create cs --table "0 $len crypt aes-xts-plain64 $key 0 $SRC $SRC_OFF"
expect_eq "dm-crypt takes no discards" 0 "$(queue cs discard_max_bytes)"
dmsetup create lin --table "0 $len linear /dev/mapper/cs 0"
dmsetup create vm --table "0 $len vmotion /dev/mapper/cs 0 $DST $DST_OFF 128"
same_discard lin vm
! blkdiscard -o 0 -l 1M /dev/mapper/vm 2>/dev/null || fail "a discard was taken by a device whose source has none"
wait_state vm synced 300
expect_eq "source errors" 0 "$(vm_field vm 6)"
dmsetup remove vm
dmsetup remove lin

log "source with discard, destination without (dm-crypt)"
dmsetup create cd --table "0 $len crypt aes-xts-plain64 $key 0 $DST $DST_OFF"
dmsetup create lin --table "0 $len linear $SRC $SRC_OFF"
dmsetup create vm --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/cd 0 128"
same_discard lin vm
[ "$(queue vm discard_max_bytes)" -gt 0 ] || fail "the source's discards are not advertised"
wait_state vm synced 300
blkdiscard -o 0 -l 1M /dev/mapper/vm || fail "discard refused"
expect_eq "state after a discard" synced "$(vm_state vm)"
expect_eq "errors after a discard" "0 0" "$(vm_field vm 5) $(vm_field vm 6)"
dmsetup remove vm
dmsetup remove lin
dmsetup remove cd
dmsetup remove cs

# a device whose second half reads, but fails writes and discards
flaky_half() {
	local name=$1 dev=$2 off=$3
	dmsetup create "$name" --table "0 $half linear $dev $off
$half $half flakey $dev $((off + half)) 0 3600 1 error_writes"
	[ "$(queue "$name" discard_max_bytes)" -gt 0 ] || fail "$name takes no discards"
}

log "the destination refuses a discard: the migration goes on; a write-zeroes: it pauses"
wipe $DST
fill $DST $DST_OFF $len 56
# flakey fails flushes too: with vdb's cache write-through the block layer
# never sends one (the destination's flush is tested in 57)
echo "write through" > /sys/block/vdb/queue/write_cache
trap 'echo "write back" > /sys/block/vdb/queue/write_cache' EXIT
flaky_half dx $DST $DST_OFF
dmsetup create vm --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/dx 0 128 1 nosync"
wait_state vm synced 60
blkdiscard -o $((half * 512)) -l 1M /dev/mapper/vm || fail "the source refused a discard"
expect_eq "state after a discard the destination refused" synced "$(vm_state vm)"
expect_eq "dest errors" 0 "$(vm_field vm 5)"
blkdiscard -z -o $((half * 512 + 2 * 1048576)) -l 1M /dev/mapper/vm || fail "write-zeroes failed on the source"
expect_eq "state after a write-zeroes the destination refused" paused "$(vm_state vm)"
expect_eq "paused by" error "$(vm_field vm 8)"
[ "$(vm_field vm 5)" -ge 1 ] || fail "dest errors not counted: $(vm_status vm)"
cmp <(dd if=/dev/mapper/vm bs=1M skip=$((half / 2048 + 2)) count=1 iflag=direct status=none) \
    <(head -c 1048576 /dev/zero) || fail "the device does not read zeroes where they were written"
dmsetup remove vm
dmsetup remove dx
echo "write back" > /sys/block/vdb/queue/write_cache

log "the source refuses a discard: the application sees it, not a source error"
flaky_half sx $SRC $SRC_OFF
dmsetup create vm --table "0 $len vmotion /dev/mapper/sx 0 $DST $DST_OFF 128 1 nosync"
wait_state vm synced 60
! blkdiscard -o $((half * 512)) -l 1M /dev/mapper/vm 2>/dev/null || fail "the discard the source refused succeeded"
expect_eq "source errors after a refused discard" 0 "$(vm_field vm 6)"
expect_eq "state" synced "$(vm_state vm)"
dmsetup remove vm
dmsetup remove sx

log "no_discard_passdown holds below a chunked copy's progress too"
# 8 MiB regions at 1 MiB/s: region 0 is copied in 128 KiB chunks
wipe $DST
dmsetup create vm --table "0 $len vmotion $SRC $SRC_OFF $DST $DST_OFF 16384 3 rate 1024 no_discard_passdown"
for ((i = 0; i < 100; i++)); do
	[ "$(vm_field vm 4)" -ge 1024 ] && break
	sleep 0.1
done
[ "$(vm_field vm 4)" -ge 1024 ] || fail "the copy did not get 1 MiB into region 0: $(vm_status vm)"
expect_eq "regions in sync (region 0 is being copied)" 0/4 "$(vm_field vm 0)"
d0=$(awk '{ print $12 }' /sys/block/vdb/stat)
blkdiscard -o 0 -l 512K /dev/mapper/vm || fail "discard refused"
expect_eq "discards that reached the destination" "$d0" "$(awk '{ print $12 }' /sys/block/vdb/stat)"
dmsetup message vm 0 rate 0
wait_state vm synced 120
dmsetup remove vm
