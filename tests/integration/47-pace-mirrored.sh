#!/bin/bash
# The latency control judges a mirrored write against the mirrored writes' own baseline: onto a destination whose writes take 75 ms (dm-delay), every region the copier brings in sync makes the application's writes to it wait 75 ms, however little the copier does. A control that took that for the copier's cost would slow the copy down as it progresses (and the slower the copy, the longer those writes wait); with a baseline per class (source alone, mirrored) the copier keeps climbing while the mirrored writes stay at their round trip. Under a verified load over the whole device: once half the regions are in sync, the copier must be at level 4 or more in most looks at its status and have a mirrored baseline (of about the 75 ms); then sync, fio verifies, bytes equal.
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../slowdest.sh
. "$(dirname "$0")/../slowdest.sh"
load_vmotion

FIO_PID=
cleanup() {
	[ -z "$FIO_PID" ] || pkill -INT -P "$FIO_PID" fio 2>/dev/null || true
	wait 2>/dev/null || true
	dmsetup remove pmir 2>/dev/null || true
	delay_dest_stop
}
trap cleanup EXIT
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# 256 MiB in 512 regions of 512 KiB; the copy waits (rate 1 KiB/s) until
# the load is writing, so that every region the copier syncs is written
# mirrored from then on.
len=$((256 * 2048))
fill $SRC $SRC_OFF $len 47
wipe $DST
delay_dest_start $DST $DST_OFF $len 75
dmsetup create pmir --table "0 $len vmotion $SRC $SRC_OFF $DELAY_DEV 0 1024 2 rate 1"
n0=$(dev_writes /dev/mapper/pmir)
fio_verify pmir /dev/mapper/pmir 256M 4k --time_based --runtime=600 &
FIO_PID=$!
wait_writing /dev/mapper/pmir "$n0"
dmsetup message pmir 0 rate 0

# the levels (status field 18) from half the regions in sync to the sync,
# and whether the mirrored writes got a baseline (field 20)
t0=$(now_ms) half= levels= n=0 high=0 base=
while [ $(($(now_ms) - t0)) -lt 300000 ]; do
	st=$(vm_status pmir)
	read -r -a f <<< "$st"
	[ "${f[2]}" = synced ] && break
	synced=${f[0]%/*}
	if [ "$synced" -ge 256 ]; then
		[ -n "$half" ] || half=$(($(now_ms) - t0))
		levels+=" ${f[18]:-}"
		if [[ "${f[18]:-}" =~ ^[0-9]$ ]]; then
			n=$((n + 1))
			[ "${f[18]}" -lt 4 ] || high=$((high + 1))
		fi
		[[ "${f[20]:-}" =~ ^[0-9]+$ ]] && base=${f[20]:-}
	fi
	sleep 0.05
done
log "half in sync at $half ms, synced at $(($(now_ms) - t0)) ms; levels from then:$levels; mirrored baseline ${base:--} us; $st"
[ "${f[2]}" = synced ] || fail "no sync in 300 s under the load: $st"
[ "$n" -gt 0 ] || fail "no copier level read between half the regions in sync and the sync:$levels"
[ $((2 * high)) -gt "$n" ] ||
	fail "the copier was at level 4 or more in only $high of $n looks once half the regions were in sync (levels:$levels): it took the mirrored writes' round trip for its own cost"
[ -n "$base" ] || fail "the mirrored writes got no baseline (status field 20) once half the regions were in sync: $st"
[ "$base" -ge 50000 ] ||
	fail "the mirrored writes' baseline is $base us, under the destination's 75 ms: it is not theirs"

pkill -INT -P "$FIO_PID" fio
wait "$FIO_PID" || true
FIO_PID=
fio_ok pmir
expect_eq "dest errors" 0 "$(vm_field pmir 5)"
dmsetup suspend pmir
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup resume pmir
