#!/bin/bash
# The copier under load: copy_latency_target (how far the application's latency may rise) sets how hard it copies; busy_copy_share caps its time; full speed once the load stops; bad values refused.
. "$(dirname "$0")/../lib.sh"
load_vmotion

param=/sys/module/dm_vmotion/parameters/busy_copy_share
tparam=/sys/module/dm_vmotion/parameters/copy_latency_target
expect_eq "default busy_copy_share" 100 "$(cat $param)"
expect_eq "default copy_latency_target" 50 "$(cat $tparam)"
trap 'echo 100 > $param; echo 50 > $tparam' EXIT
for bad in 0 101 -1 abc 1.5 ""; do
	if echo "$bad" > $param 2>/dev/null; then
		fail "busy_copy_share accepted '$bad'"
	fi
	expect_eq "busy_copy_share after '$bad'" 100 "$(cat $param)"
done
for bad in 1001 -1 abc 1.5 ""; do
	if echo "$bad" > $tparam 2>/dev/null; then
		fail "copy_latency_target accepted '$bad'"
	fi
	expect_eq "copy_latency_target after '$bad'" 50 "$(cat $tparam)"
done
echo 50 > $param
expect_eq "busy_copy_share set" 50 "$(cat $param)"
echo 100 > $param

# migrate_under_fio FIONAME DEV LEN SIZE [FIO ARGS]: fio on the linear
# device DEV (of LEN sectors) first, then the vmotion table: the copier
# never sees an idle device.  Sets fio_pid.
migrate_under_fio() {
	local name=$1 dev=$2 mlen=$3 size=$4 n0
	shift 4
	n0=$(dev_writes /dev/mapper/$dev)
	fio_verify "$name" /dev/mapper/$dev "$size" 4k "$@" &
	fio_pid=$!
	wait_writing /dev/mapper/$dev "$n0"
	dmsetup reload $dev --table "0 $mlen vmotion $SRC $SRC_OFF $DST $DST_OFF 1024"
	dmsetup resume $dev
}

# The latency control.  The same load (verified random writes on the
# first 32 MiB of 512 MiB) under two targets: 0 keeps the copier at its
# least level (one 128 KiB copy, then a rest as long), 1000 lets it climb
# while the application's mean latency stays under 11 times its baseline.
# The levels the status shows are the control's decision; what they do is
# measured where they hold: regions synced in one second once target 1000
# has reached level 6 (or target 0 has run a second at level 0).  Level 6
# copies without rests, eight 1 MiB copies at a time: at least 1.5 times
# level 0's rate, which rests as long as it copies (the climb itself is
# not counted: on a slow guest it takes most of a second).  Each run is
# then left to sync idle and compared byte for byte.
plen=$((512 * 2048))
# hot regions (fio's 32 MiB) are copied last: past this many synced, the
# cold ones are done and a window counts less than the copier could do
cold=$((1024 - 64))
now_ms() { echo $(($(date +%s%N) / 1000000)); }
for target in 0 1000; do
	echo $target > $tparam
	wipe $DST
	fill $SRC $SRC_OFF $plen 46
	dmsetup create pace --table "0 $plen linear $SRC $SRC_OFF"
	migrate_under_fio pace-$target pace $plen 32M --time_based --runtime=120
	# the levels the status shows (field 18): target 1000 until it
	# reaches 6 (10 s at most), target 0 for a second
	levels= lv=
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt 10000 ]; do
		lv=$(vm_field pace 18)
		levels+=" $lv"
		[ $target = 1000 ] && [ "$lv" = 6 ] && break
		[ $target = 0 ] && [ $(($(now_ms) - t0)) -ge 1000 ] && break
		sleep 0.05
	done
	# the window: regions synced in one second at that level
	s1=$(vm_field pace 0) t1=$(now_ms) window=
	while [ $(($(now_ms) - t1)) -lt 1000 ]; do
		window+=" $(vm_field pace 18)"
		sleep 0.05
	done
	s2=$(vm_field pace 0) t2=$(now_ms)
	s1=${s1%/*} s2=${s2%/*}
	kill -0 $fio_pid 2>/dev/null || fail "fio ended before the checks: the check needs a longer load"
	eval "rate_$target=$(((s2 - s1) * 1000 / (t2 - t1)))"
	eval "end_$target=$s2"
	log "target $target: $((s2 - s1)) regions synced in $((t2 - t1)) ms (levels:$window) at: $(vm_status pace); levels before:$levels"
	levels+=$window
	# while fio writes and regions are left, the control steers: a level
	[[ "$levels" =~ [0-6] ]] || fail "target $target: no copier level in the status under load:$levels"
	if [ $target = 0 ]; then
		[[ ! "$levels" =~ [1-6] ]] || fail "target 0: the copier left level 0:$levels"
	else
		[ "$lv" = 6 ] || fail "target 1000: the copier did not reach level 6 in 10 s:$levels"
	fi
	# the baseline was measured (field 19)
	[ $target = 0 ] || [[ "$(vm_field pace 19)" =~ ^[0-9]+$ ]] ||
		fail "target $target: no baseline latency in the status: $(vm_status pace)"
	# the load ends here (fio verifies what it wrote, then exits)
	pkill -INT -x fio || true
	wait $fio_pid || true
	fio_ok pace-$target
	wait_state pace synced 300
	same_range $SRC $SRC_OFF $DST $DST_OFF $plen
	dmsetup remove pace
done
echo 50 > $tparam
# shellcheck disable=SC2154 # set by eval above
[ "$rate_0" -gt 0 ] || fail "level 0 (target 0) synced no region in its second under load: the copier is stuck"
# level 6 at least 1.5 times as fast as level 0; where its window ran into
# the hot regions it counted less than it copied: faster is then enough
[ $((2 * rate_1000)) -ge $((3 * rate_0)) ] ||
	{ [ "$end_1000" -ge $cold ] && [ "$rate_1000" -gt "$rate_0" ]; } ||
	fail "under the same load, level 6 (target 1000) synced $rate_1000 regions a second and level 0 (target 0) $rate_0: the copier does not follow its level"

# 1% of the time under load: every copy is followed by a rest 99 times as
# long, so two seconds of fio leave most of the 128 regions unsynced (a
# copier that did not rest would be done in under a second).
echo 1 > $param
len=$((64 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 45
dmsetup create share --table "0 $len linear $SRC $SRC_OFF"
migrate_under_fio share share $len 64M
sleep 2
synced=$(vm_field share 0)
log "after 2 s under fio at 1%: $(vm_status share)"
kill -0 $fio_pid 2>/dev/null || fail "fio ended within 2 s: the check needs a longer load"
[ "${synced%/*}" -lt 64 ] || fail "copier did not rest under load: $synced synced"
[ "${synced%/*}" -gt 0 ] || fail "copier made no progress under load: $synced synced"
# suspend and resume while the copier rests (its timer armed)
dmsetup suspend share
dmsetup resume share
expect_eq "state after suspend/resume under load" copying "$(vm_state share)"
wait $fio_pid || fail "fio exited with an error"
fio_ok share
# idle again: full speed
wait_state share synced 300
expect_eq "dest errors" 0 "$(vm_field share 5)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len

# abort (linear back onto the source) while the copier rests under load:
# the old table goes away with its timer, fio keeps verifying on the source
wipe $DST
dmsetup reload share --table "0 $len linear $SRC $SRC_OFF"
dmsetup resume share
migrate_under_fio share2 share $len 64M
sleep 1
expect_eq "state under load at 1%" copying "$(vm_state share)"
dmsetup reload share --table "0 $len linear $SRC $SRC_OFF"
dmsetup resume share
wait $fio_pid || fail "fio exited with an error after the abort"
fio_ok share2
dmsetup remove share
