#!/bin/bash
# Discards and write-zeroes of 4 KiB to 1 MiB (across region boundaries, into regions in sync, not in sync and being copied) during a migration under fio verify: the device reads zeros where they went and its data everywhere else, and after sync the destination equals the source byte for byte; with no_discard_passdown, write-zeroes still reach the destination.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))		# 64 MiB in 1024 regions of 64 KiB
first=4096 blocks=16384		# 4 KiB blocks: fio keeps the first 16 MiB

# zero_ops DEV EXPECT OPS: discard (or, with OPS=zeroes, write-zeroes) random
# ranges of DEV beyond fio's area until the migration is in sync, then 10
# more, applying each to the expected image EXPECT; prints how many went in
# while copying.  The migration starts at a rate that holds the copy for
# a minute: after 30 operations (their states read) the limit goes, so
# that the test never races the copy, however slow or fast the guest.
zero_ops() {
	local dev=$1 expect=$2 ops=$3 n=0 during=0 after=0 off cnt
	while [ "$after" -lt 10 ]; do
		off=$((first + (RANDOM * 32768 + RANDOM) % (blocks - first)))
		cnt=$((1 + RANDOM % 256))
		[ $((off + cnt)) -le $blocks ] || cnt=$((blocks - off))
		if [ "$ops" = zeroes ] || [ $((n % 2)) = 1 ]; then
			blkdiscard -z -o $((off * 4096)) -l $((cnt * 4096)) "$dev" || return 1
		else
			blkdiscard -o $((off * 4096)) -l $((cnt * 4096)) "$dev" || return 1
		fi
		dd if=/dev/zero of="$expect" bs=4k seek=$off count=$cnt conv=notrunc status=none
		n=$((n + 1))
		if [ "$(vm_state mig)" = synced ]; then
			after=$((after + 1))
		else
			during=$((during + 1))
		fi
		# the limit goes after the 30th operation's state is read: the
		# copy left at full speed can end before the next command does
		[ "$n" != 30 ] || dmsetup message mig 0 rate 0
	done
	echo $during
}

for feats in "rate 512" "rate 512 no_discard_passdown"; do
	ops=both
	[[ $feats == *no_discard_passdown* ]] && ops=zeroes
	log "features: $feats; operations: $ops"
	wipe $SRC $DST
	fill $SRC $SRC_OFF $len 17
	# the destination holds other data: nothing may stay of it
	fill $DST $DST_OFF $len 18
	dd if=$SRC of=/tmp/expect bs=1M skip=$((SRC_OFF / 2048)) count=$((len / 2048)) iflag=direct status=none
	start_migration mig $len 128 $feats
	fio_verify dz /dev/mapper/mig 16M 4k &
	fio_pid=$!
	during=$(zero_ops /dev/mapper/mig /tmp/expect $ops) || fail "blkdiscard failed ($feats)"
	log "$during operations while copying: $(vm_status mig)"
	[ "$during" -ge 30 ] || fail "only $during operations while copying: the test proved little"
	zero_ops_ok mig dz $fio_pid $first $len "$feats"
	dmsetup remove mig
done
