#!/bin/bash
# Metadata: formatted on first load, writes to regions in sync set write-intent bits on disk first, idle bits cleared, progress kept over a reload, an abandoned area formatted again; bytes equal.
. "$(dirname "$0")/../lib.sh"
load_vmotion

MD=/dev/vdc MD_OFF=8
len=$((64 * 2048))
wipe $SRC $DST $MD
fill $SRC $SRC_OFF $len 31
va=$(cat /sys/block/vda/dev) vb=$(cat /sys/block/vdb/dev) vc=$(cat /sys/block/vdc/dev)
hdr() { "$REPO/tests/vmm-header" $MD $MD_OFF | awk -v f="$1" '$1 == f { print $2 }'; }
synced() { vm_status "$1" | cut -d/ -f1; }
# the first byte of the write-intent bitmap (regions 0-7): 64 regions take
# one 4 KiB block per bitmap, header at MD_OFF, in sync at +8, intent at +16
intent_byte() {
	dd if=$MD bs=512 skip=$((MD_OFF + 16)) count=1 iflag=direct status=none | od -An -tu1 -N1 | tr -d ' '
}

log "first load formats the metadata area"
dmesg -C
start_migration md $len 2048 rate 4096 metadata $MD $MD_OFF
dmesg | matches "formatted metadata" || fail "no format message: $(dmesg | tail -5)"
expect_eq "table" "0 $len vmotion $va $SRC_OFF $vb $DST_OFF 2048 5 rate 4096 metadata $vc $MD_OFF" \
	"$(dmsetup table md)"
expect_eq "metadata field" ok "$(vm_field md 9)"
expect_eq "header state" 1 "$(hdr state)"
expect_eq "header regions" 64 "$(hdr nr_regions)"
expect_eq "header length" $len "$(hdr length)"
expect_eq "header destination offset" $DST_OFF "$(hdr dest_offset)"
uuid=$(hdr uuid)

for ((i = 0; i < 600; i++)); do
	[ "$(synced md)" -ge 20 ] && break
	sleep 0.1
done
[ "$(synced md)" -ge 20 ] || fail "the copy did not get to 20 regions: $(vm_status md)"
expect_eq "no write-intent bit before any write" 0 "$(vm_field md 10)"
expect_eq "no write-intent bit on disk before any write" 0 "$(intent_byte)"

log "a write to region 0 (in sync) sets its bit on disk before it is done"
dd if=/dev/urandom of=/dev/mapper/md bs=4k count=1 oflag=direct status=none
expect_eq "write-intent bits" 1 "$(vm_field md 10)"
expect_eq "region 0's bit on disk" 1 "$(intent_byte)"
# the migration goes on under verified writes to the first 16 regions
fio_verify md /dev/mapper/md 16M 4k --runtime=5 --time_based
fio_ok md
log "after fio: $(vm_status md)"
[ "$(vm_field md 10)" -ge 1 ] || fail "no write-intent bit after fio: $(vm_status md)"

log "a clean stop keeps the progress: suspend, remove, load again"
dmsetup message md 0 pause
dmsetup suspend md
read -r n k < <(vm_status md | awk '{ split($1, a, "/"); print a[1], $11 }')
dmsetup remove md
log "at the stop: $n regions in sync, $k write-intent bits"
# nothing in flight and both devices flushed by the suspend: no bit is left
expect_eq "write-intent bits after a clean stop" 0 "$k"
dmesg -C
start_migration md $len 2048 metadata $MD $MD_OFF
line=$(dmesg | grep -o "metadata [0-9a-f-]*: [0-9]* of 64 regions in sync, [0-9]* with a write-intent bit" | tail -1)
[ -n "$line" ] || fail "no load message: $(dmesg | tail -5)"
log "loaded: $line"
loaded=$(echo "$line" | awk '{ print $3 }')
expect_eq "regions loaded in sync (in sync at the stop, less those with a bit)" $((n - k)) "$loaded"
dmesg | matches "formatted metadata" && fail "the second load formatted the metadata again"
expect_eq "same migration" "$uuid" "$(hdr uuid)"
wait_state md synced 300
expect_eq "copied KiB: only what was not in sync" $(((64 - loaded) * 1024)) "$(vm_field md 4)"
expect_eq "header state once in sync" 2 "$(hdr state)"
expect_eq "regions recorded in sync" 64 "$(vm_field md 12)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len

log "idle write-intent bits are cleared (after one to two 5 s periods)"
for ((i = 0; i < 300; i++)); do
	[ "$(vm_field md 10)" = 0 ] && break
	sleep 0.1
done
expect_eq "write-intent bits once idle" 0 "$(vm_field md 10)"
expect_eq "intent bitmap on disk once idle" 0 "$(intent_byte)"
# a write now sets a bit again with one block written, and in sync it goes
# to both disks; a second write to the region writes no metadata
blocks=$(vm_field md 11)
dd if=/dev/urandom of=/dev/mapper/md bs=4k count=1 seek=100 oflag=direct status=none
expect_eq "write-intent bits after a new write" 1 "$(vm_field md 10)"
expect_eq "metadata blocks written for it" $((blocks + 1)) "$(vm_field md 11)"
dd if=/dev/urandom of=/dev/mapper/md bs=4k count=1 seek=101 oflag=direct status=none
expect_eq "metadata blocks written for a second write" $((blocks + 1)) "$(vm_field md 11)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove md

log "an area that records an aborted migration is formatted for a new one"
"$REPO/tests/vmm-header" $MD $MD_OFF state=aborted
dmesg -C
start_migration md $len 2048 metadata $MD $MD_OFF
dmesg | matches "records an aborted migration: starting a new one" || fail "no message: $(dmesg | tail -5)"
[ "$(hdr uuid)" != "$uuid" ] || fail "the new migration kept the old uuid"
wait_state md synced 300
expect_eq "copied KiB: everything again" $((64 * 1024)) "$(vm_field md 4)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove md

log "nosync with metadata: in sync from the start, recorded so"
start_migration md $len 2048 nosync metadata $MD $MD_OFF
wait_state md synced 60
expect_eq "copied with nosync" 0 "$(vm_field md 4)"
expect_eq "header state" 2 "$(hdr state)"
dmsetup remove md

# bit_in_flight BYTE WHAT: the intent bitmap's first byte becomes BYTE
# while the write $w is still held by dm-delay (3 s from its issue; the bit
# goes to disk before it).  Polled: a loaded machine may take a while to
# start dd, which is no failure.
bit_in_flight() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(intent_byte)" = "$1" ] && break
		kill -0 $w 2>/dev/null || break
		sleep 0.1
	done
	kill -0 $w 2>/dev/null ||
		fail "the write finished before its bit was seen on disk (the destination holds it 3 s)"
	expect_eq "$2" "$1" "$(intent_byte)"
}

log "a write to a region in sync: its bit is on disk before the write is issued (the destination's half held 3 s by dm-delay)"
wipe $MD
dmsetup create dl --table "0 $(sectors $DST) delay $DST 0 0 $DST 0 3000"
dmsetup create md --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/dl $DST_OFF 2048 4 nosync metadata $MD $MD_OFF"
wait_state md synced 60
expect_eq "no bit yet" 0 "$(intent_byte)"
head -c 4096 /dev/urandom > /tmp/blk
# region 5 (1 MiB regions), its first 4 KiB
dd if=/tmp/blk of=/dev/mapper/md bs=4k seek=1280 oflag=direct status=none &
w=$!
bit_in_flight 32 "region 5's bit on disk while the write is in flight"
cmp -n 4096 /tmp/blk <(dd if=$SRC bs=512 skip=$((SRC_OFF + 5 * 2048)) count=8 iflag=direct status=none) ||
	fail "the source does not have the write yet"
wait $w
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove md

log "a write below a copy's progress takes a bit too: the region may be recorded in sync while it is in flight"
wipe $MD $DST
# 64 KiB chunks (1/8 s of the rate), each held 3 s on the destination
dmsetup create md --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/dl $DST_OFF 2048 5 rate 512 metadata $MD $MD_OFF"
for ((i = 0; i < 300; i++)); do
	[ "$(vm_field md 4)" -ge 64 ] && break
	sleep 0.1
done
[ "$(vm_field md 4)" -ge 64 ] || fail "the first chunk was not copied: $(vm_status md)"
expect_eq "region 0 not in sync yet" 0 "$(vm_status md | cut -d/ -f1)"
expect_eq "no bit yet" 0 "$(intent_byte)"
dd if=/tmp/blk of=/dev/mapper/md bs=4k count=1 oflag=direct status=none &
w=$!
bit_in_flight 1 "region 0's bit on disk while the write is in flight"
wait $w
dmsetup remove md
dmsetup remove dl
