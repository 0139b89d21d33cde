#!/bin/bash
# skip_zeroes and dest_zeroed onto a dm-thin volume and a plain disk: a 512 MiB source with 100 MiB of scattered data (a region half data, half zeroes; blocks zero in part) leaves the thin pool using at most 1.1x the data's blocks, with every byte equal and thin_check clean; onto a thin volume full of old data (no write-zeroes) zeroes are written, onto a disk full of old data they go as write-zeroes; under fio verify with zero writes and discards into regions being copied, the device reads what was written and the destination equals the source; status counts the KiB skipped as zero.
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-thin-pool

blk=$THIN_BLOCK

# layout LEN: scattered extents of data on the source range, 1/5 of LEN in
# all, at offsets that are not block aligned; in the last tenth a region
# (512 KiB) half data, half zeroes, a block with 4 KiB of zeroes inside its
# data, and a block whose only data is its last sector
layout() {
	local len=$1 n=40 i ext step tail
	ext=$((len / 5 / n))
	step=$((len * 9 / 10 / n))
	wipe $SRC
	for ((i = 0; i < n; i++)); do
		fill $SRC $((SRC_OFF + i * step + 8 * (i + 1))) $ext $((100 + i))
	done
	tail=$((SRC_OFF + len * 9 / 10 + 2048))
	tail=$((tail / 1024 * 1024))
	fill $SRC $tail 512 7
	fill $SRC $((tail + 4096)) $blk 8
	dd if=/dev/zero of=$SRC bs=512 seek=$((tail + 4096 + 40)) count=8 oflag=direct status=none
	fill $SRC $((tail + 8192 + blk - 1)) 1 9
}

# zero_kib DEV: the status field of the KiB copied as zeroes
zero_kib() {
	vm_field "$1" 13
}

# check_thin_usage POOL NONZERO WHAT: the pool maps no fewer blocks than the
# source has data in, and at most 1.1 times as many
check_thin_usage() {
	local used
	used=$(thin_pool_used "$1")
	log "$3: pool maps $used blocks for $2 blocks of data"
	[ "$used" -ge "$2" ] || fail "$3: the pool maps $used blocks, fewer than the $2 the data needs"
	[ $((used * 10)) -le $((11 * $2)) ] || fail "$3: the pool maps $used blocks for $2 blocks of data (over 1.1x)"
}

# migrate_sync NAME LEN FEATURES...: load, wait for sync, check status
migrate_sync() {
	local name=$1 len=$2
	shift 2
	start_migration "$name" "$len" 1024 "$@"
	wait_state "$name" synced 900
	expect_eq "dest errors ($*)" 0 "$(vm_field "$name" 5)"
}

# --- A: 512 MiB onto a new thin volume, skip_zeroes dest_zeroed ------------
len=$((512 * 2048))
layout $len
nz=$(nonzero_blocks $SRC $SRC_OFF $len $blk)
log "A: source has $nz blocks of $blk sectors with data"
[ "$nz" -ge 1600 ] || fail "the layout holds only $nz blocks of data"
thin_pool pool /dev/vdc
thin_volume pool 0 thin $((DST_OFF + len))
DST=/dev/mapper/thin
migrate_sync mig $len skip_zeroes dest_zeroed
expect_eq "A: copied KiB" $((len / 2)) "$(vm_field mig 4)"
expect_eq "A: KiB skipped as zero" $((len / 2 - nz * blk / 2)) "$(zero_kib mig)"
dmsetup table mig | matches " 1 skip_zeroes$" || fail "A: table (dest_zeroed reads skip_zeroes once resumed): $(dmsetup table mig)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove mig
check_thin_usage pool "$nz" "A"
dmsetup remove thin

# --- B: a thin volume full of old data, skip_zeroes alone -------------------
# (dm-thin has no write-zeroes, and a discard is never taken for zeroes:
# zeroes are written, and none counts as skipped)
len=$((256 * 2048))
layout $len
thin_volume pool 1 thin $((DST_OFF + len))
fio --name=old --filename=$DST --rw=write --bs=1M --direct=1 --ioengine=libaio \
	--iodepth=4 --buffer_pattern=0x5a --size=$(((DST_OFF + len) * 512)) > /tmp/fio-old.out 2>&1 ||
	{ cat /tmp/fio-old.out; fail "B: filling the thin volume"; }
full=$(thin_pool_used pool)
migrate_sync mig $len skip_zeroes
same_range $SRC $SRC_OFF $DST $DST_OFF $len
expect_eq "B: KiB skipped as zero" 0 "$(zero_kib mig)"
dmsetup remove mig
dmsetup remove thin
dmsetup message pool 0 "delete 1"
log "B: the pool mapped $full blocks before"

# --- C: a plain disk full of old data, skip_zeroes -------------------------
DST=/dev/vdb
fio --name=old --filename=$DST --rw=write --bs=1M --direct=1 --ioengine=libaio \
	--iodepth=4 --buffer_pattern=0x5a --size=$(((DST_OFF + len) * 512)) > /tmp/fio-old.out 2>&1 ||
	{ cat /tmp/fio-old.out; fail "C: filling the disk"; }
log "C: write-zeroes $(cat /sys/block/vdb/queue/write_zeroes_max_bytes) bytes, discard $(cat /sys/block/vdb/queue/discard_max_bytes) bytes at most"
# the copier checks zeroes in pieces of the disk's discard granularity
grain=$(($(cat /sys/block/vdb/queue/discard_granularity) / 512))
[ "$grain" -ge 8 ] || grain=8
nzc=$(nonzero_blocks $SRC $SRC_OFF $len $grain)
migrate_sync mig $len skip_zeroes
same_range $SRC $SRC_OFF $DST $DST_OFF $len
expect_eq "C: KiB skipped as zero (pieces of $grain sectors)" $((len / 2 - nzc * grain / 2)) "$(zero_kib mig)"
dmsetup remove mig

# --- D: under fio verify, zero writes and discards, onto a new thin volume --
first=4096 blocks=65536		# 4 KiB blocks: fio keeps the first 16 MiB
thin_volume pool 2 thin $((DST_OFF + len))
DST=/dev/mapper/thin
dd if=$SRC of=/tmp/expect bs=1M skip=$((SRC_OFF / 2048)) count=$((len / 2048)) iflag=direct status=none
start_migration mig $len 1024 rate 4096 skip_zeroes dest_zeroed
fio_verify dz /dev/mapper/mig 16M 4k &
fio_pid=$!
n=0 during=0 after=0
while [ "$after" -lt 10 ]; do
	off=$((first + (RANDOM * 32768 + RANDOM) % (blocks - first)))
	cnt=$((1 + RANDOM % 64))
	[ $((off + cnt)) -le $blocks ] || cnt=$((blocks - off))
	if [ $((n % 3)) = 0 ]; then
		# whole thin blocks: dm-thin ignores a discard of part of one,
		# and what a discard leaves is not defined (the source's is
		# zeroes here), so only whole blocks compare equal
		off=$((off / 16 * 16)) cnt=$((16 * (1 + RANDOM % 4)))
		[ $((off + cnt)) -le $blocks ] || cnt=$((blocks - off))
		blkdiscard -o $((off * 4096)) -l $((cnt * 4096)) /dev/mapper/mig
	elif [ $((n % 3)) = 1 ]; then
		blkdiscard -z -o $((off * 4096)) -l $((cnt * 4096)) /dev/mapper/mig
	else
		dd if=/dev/zero of=/dev/mapper/mig bs=4k seek=$off count=$cnt oflag=direct status=none
	fi
	dd if=/dev/zero of=/tmp/expect bs=4k seek=$off count=$cnt conv=notrunc status=none
	n=$((n + 1))
	[ "$n" = 60 ] && dmsetup message mig 0 rate 0
	if [ "$(vm_state mig)" = synced ]; then
		after=$((after + 1))
	else
		during=$((during + 1))
	fi
done
log "D: $during zero writes and discards while copying: $(vm_status mig)"
[ "$during" -ge 30 ] || fail "D: only $during operations while copying: the test proved little"
zero_ops_ok mig dz $fio_pid $first $len D
[ "$(zero_kib mig)" -gt 0 ] || fail "D: nothing skipped as zero"
dmsetup remove mig
dmsetup remove thin
rm -f /tmp/expect
thin_pool_check pool
