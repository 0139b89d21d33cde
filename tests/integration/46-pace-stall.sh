#!/bin/bash
# The latency control sees a stall it cannot take a mean of: at level 6 under a verified load, every write to the destination is suddenly held 4 s (dm-delay); the copier must be down to level 1 or less before any of those writes could end (it halves once no I/O has ended for longer than the target allows, not on a mean over 16 ended I/Os that the stall does not give for 4 s); with metadata as well (its commits wake the worker), then sync once the destination is fast again; bytes equal, fio verifies.
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-delay

tparam=/sys/module/dm_vmotion/parameters/copy_latency_target
FIO_PID=
cleanup() {
	echo 50 > $tparam
	[ -z "$FIO_PID" ] || pkill -INT -P "$FIO_PID" fio 2>/dev/null || true
	wait 2>/dev/null || true
	dmsetup remove stall 2>/dev/null || true
	dmsetup remove slowdst 2>/dev/null || true
}
trap cleanup EXIT
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# 512 MiB, the load on its first 32 MiB, started once those are in sync,
# so that every write of it is mirrored and the stall reaches the
# application.  A rate (32 MiB/s) keeps the copy going for 16 s at least,
# however fast the guest; it spaces the copies, the level still says how
# many may be in flight.  Target 1000 lets the copier climb to level 6
# while the application's latency stays under 11 times its baseline.
# Without metadata, then with it (its commits queue the worker a second
# ahead: the stall must be seen all the same).
len=$((512 * 2048)) hold=4000
MD=/dev/vdc MD_OFF=8
echo 1000 > $tparam
fill $SRC $SRC_OFF $len 46
for feats in "" "3 metadata $MD $MD_OFF"; do
	log "features: '${feats:-none}'"
	wipe $DST
	[ -z "$feats" ] || wipe $MD
	dmsetup create slowdst --table "0 $len delay $DST $DST_OFF 0"
	dmsetup create stall --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/slowdst 0 1024 $((${feats%% *} + 2)) rate 32768${feats:+ ${feats#* }}"
	for ((i = 0; i < 600; i++)); do
		s=$(vm_field stall 0)
		[ "${s%/*}" -ge 64 ] && break
		sleep 0.1
	done
	[ $i -lt 600 ] || fail "the first 64 regions were not in sync in 60 s: $(vm_status stall)"
	n0=$(dev_writes /dev/mapper/stall)
	fio_verify stall /dev/mapper/stall 32M 4k --time_based --runtime=300 &
	FIO_PID=$!
	wait_writing /dev/mapper/stall "$n0"

	# level 6 (status field 18) with a baseline (19 or 20), 20 s at most
	t0=$(now_ms) levels=
	while [ $(($(now_ms) - t0)) -lt 20000 ]; do
		lv=$(vm_field stall 18)
		levels+=" $lv"
		[ "$lv" = 6 ] && [[ "$(vm_field stall 19)$(vm_field stall 20)" =~ [0-9] ]] && break
		sleep 0.05
	done
	log "before the stall: $(vm_status stall); levels:$levels"
	[ "$lv" = 6 ] || fail "target 1000: the copier did not reach level 6 with a baseline in 20 s:$levels"

	# the stall: every write to the destination held $hold ms from now on
	# (but flushes: a metadata commit flushes the destination in the
	# worker, which would start no copy and tell no level until it ends)
	dmsetup suspend slowdst
	dmsetup load slowdst --table "0 $len delay $DST $DST_OFF 0 $DST $DST_OFF $hold $DST $DST_OFF 0"
	dmsetup resume slowdst
	t1=$(now_ms) levels= low= w1=$(dev_writes /dev/mapper/stall)
	while [ $(($(now_ms) - t1)) -lt $((2 * hold)) ]; do
		lv=$(vm_field stall 18)
		levels+=" $(($(now_ms) - t1)):$lv"
		if [[ "$lv" =~ ^[01]$ ]]; then
			low=$(($(now_ms) - t1))
			break
		fi
		sleep 0.05
	done
	w2=$(dev_writes /dev/mapper/stall)
	log "after the stall (ms:level):$levels; $((w2 - w1)) writes ended until then"
	# the destination is fast again before any check can fail
	dmsetup suspend slowdst
	dmsetup load slowdst --table "0 $len delay $DST $DST_OFF 0"
	dmsetup resume slowdst
	[ -n "$low" ] || fail "the copier stayed above level 1 for $((2 * hold)) ms of a stall:$levels"
	[ "$low" -lt $hold ] ||
		fail "the copier reached level 1 only after $low ms, when writes held $hold ms could end and give a mean: it did not see the stall from the writes waiting:$levels"
	kill -0 "$FIO_PID" 2>/dev/null || fail "fio ended during the stall"
	# the application's writes did stall (all of them are mirrored)
	[ $((w2 - w1)) -lt 16 ] ||
		fail "$((w2 - w1)) of the application's writes ended while the destination held writes $hold ms: no stall to test"

	# the load ends (fio checks what it wrote), the rest is copied idle
	dmsetup message stall 0 rate 0
	pkill -INT -P "$FIO_PID" fio
	wait "$FIO_PID" || true
	FIO_PID=
	fio_ok stall
	wait_state stall synced 300
	expect_eq "dest errors" 0 "$(vm_field stall 5)"
	same_range $SRC $SRC_OFF $DST $DST_OFF $len
	dmsetup remove stall
	dmsetup remove slowdst
done
