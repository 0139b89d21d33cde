#!/bin/bash
# In the block layer's trace: an empty flush to a vmotion target that does not start at sector 0 reaches the source at a sector inside it (not pushed through the target's offset), and every write the device sends to the source is a remap of one of its own, the writes a copy held included (resubmitted with dm_submit_bio_remap).
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-delay

T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs nodev $T
IFS=: read -r ma mi < /sys/block/vda/dev
vda=$(((ma << 20) | mi))
vda_sectors=$(sectors /dev/vda)
trace_on() {
	echo 0 > $T/tracing_on
	echo 16384 > $T/buffer_size_kb
	echo > $T/trace
	for e in "$@"; do
		echo "dev == $vda" > $T/events/block/$e/filter
		echo 1 > $T/events/block/$e/enable
	done
	echo 1 > $T/tracing_on
}
trace_off() {
	echo 0 > $T/tracing_on
	echo 0 > $T/events/block/enable
	cat $T/trace > /tmp/trace.txt
	! grep -q 'overrun: [1-9]' $T/per_cpu/cpu*/stats || fail "the trace buffer overran"
}

log "empty flush through a target at sector 2048"
len=$((8 * 2048))
wipe $SRC $DST
# the vmotion segment starts at sector 2048 and maps to sector 0 of the
# source: an empty flush pushed through the offset would land at -2048
dmsetup create tw --table "0 2048 linear /dev/vdc 0
2048 $len vmotion $SRC 0 $DST $DST_OFF 16 1 nosync"
trace_on block_bio_queue
sync /dev/mapper/tw
trace_off
flush=$(grep -E 'block_bio_queue: [0-9]+,[0-9]+ F' /tmp/trace.txt | head -1)
[ -n "$flush" ] || { cat /tmp/trace.txt; fail "no flush reached the source"; }
log "on the source: $flush"
sector=$(echo "$flush" | sed -E 's/.*block_bio_queue: [0-9,]+ [A-Z]+ ([0-9]+) \+ 0.*/\1/')
[ "$sector" -lt "$vda_sectors" ] || fail "an empty flush reached the source at sector $sector, past its end ($vda_sectors)"
dmsetup remove tw

log "writes held by copies are remapped like the others"
len=$((8 * 2048))
fill $SRC $SRC_OFF $len 62
dmsetup create slowdst --table "0 $len delay $DST $DST_OFF 0 $DST $DST_OFF 100"
# 1 MiB regions copied at 256 KiB/s: each copy lasts 4 s and fio's random
# writes over 8 regions land in it often.  With 8 KiB regions, which the
# copier takes cold ones first, a run once saw no held write at all.
dmsetup create race --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/slowdst 0 2048 2 rate 256"
trace_on block_bio_queue block_bio_remap
fio_verify rt /dev/mapper/race 8M 4k --iodepth=32 --loops=4
trace_off
fio_ok rt
held=$(vm_field race 7)
[ "$held" -gt 0 ] || fail "no write was held by a copy: the check proves little"
queued=$(grep -cE 'block_bio_queue: [0-9,]+ W' /tmp/trace.txt)
remapped=$(grep -cE 'block_bio_remap: [0-9,]+ W' /tmp/trace.txt)
log "$held writes held; writes to the source: $queued queued, $remapped remapped"
expect_eq "writes remapped to the source (every write queued on it)" "$queued" "$remapped"
dmsetup message race 0 rate 0
wait_state race synced 300
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove race
dmsetup remove slowdst
