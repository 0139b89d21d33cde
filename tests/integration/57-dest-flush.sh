#!/bin/bash
# The destination is flushed after the last copy and before "synced" is reported (idle and under load), when the device is suspended in sync, and inside the pause of vmotion switch: its volatile cache never holds the only copy of the data.
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-delay

len=$((32 * 2048))
wc=$(cat /sys/block/vdb/queue/write_cache)
[ "$wc" = "write back" ] || fail "vdb has no volatile write cache ($wc): no flush would reach it"
# flushes completed by vdb (field 16 of its stat)
flushes() {
	awk '{ print $16 }' /sys/block/vdb/stat
}
# The destination holds every flush for 3 s (dm-delay's third class):
# long enough to see the state between the last copy and the flush.
hold=3000
dmsetup create fd --table "0 $len delay $DST $DST_OFF 0 $DST $DST_OFF 0 $DST $DST_OFF $hold"

for load in idle fio; do
	log "migration, $load"
	wipe $DST
	fill $SRC $SRC_OFF $len 57
	dmsetup create fm --table "0 $len linear $SRC $SRC_OFF"
	dmsetup reload fm --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/fd 0 256"
	f0=$(flushes)
	dmsetup resume fm
	[ $load = idle ] || fio_loop_start fl /dev/mapper/fm 32M 4k
	unflushed=0
	for ((i = 0; i < 3000; i++)); do
		read -r synced _ state _ < <(vm_status fm)
		[ "${synced%/*}" = "${synced#*/}" ] && [ "$state" = copying ] && unflushed=1
		[ "$state" = synced ] && break
		[ "$state" = copying ] || fail "state $state: $(vm_status fm)"
		sleep 0.1
	done
	expect_eq "state" synced "$state"
	f1=$(flushes)
	[ "$unflushed" = 1 ] || fail "every region in sync was reported 'synced' at once: nothing waited for the destination's flush"
	[ "$f1" -gt "$f0" ] || fail "'synced' reported with no flush completed on the destination ($f0 -> $f1)"
	log "$load: $((f1 - f0)) flush(es) before 'synced'"
	[ $load = idle ] || fio_loop_stop fl

	# a suspend in sync flushes the destination (dm core does not)
	f0=$(flushes)
	dmsetup suspend fm
	f1=$(flushes)
	dmsetup resume fm
	[ "$f1" -gt "$f0" ] || fail "suspending the device in sync did not flush the destination"
	expect_eq "state after suspend/resume" synced "$(vm_state fm)"
	same_range $SRC $SRC_OFF $DST $DST_OFF $len
	if [ $load = idle ]; then
		dmsetup remove fm
		continue
	fi

	# the switch: the flush completes inside the pause, before the resume
	# onto the destination (it is held 3 s, so the pause includes them)
	f0=$(flushes)
	vmotion switch fm > /tmp/sw.out 2>&1 || { cat /tmp/sw.out; fail "vmotion switch"; }
	cat /tmp/sw.out
	f1=$(flushes)
	[ "$f1" -gt "$f0" ] || fail "vmotion switch did not flush the destination"
	pause=$(sed -n 's/.*I\/O paused for \([0-9]*\)\..*/\1/p' /tmp/sw.out)
	[ -n "$pause" ] && [ "$pause" -ge $((hold - 100)) ] ||
		fail "the switch's pause ($pause ms) does not hold the destination's flush ($hold ms): it resumed before the flush completed"
	expect_eq "table after switch" "0 $len linear $(majmin /dev/mapper/fd) 0" "$(dmsetup table fm)"
	same_range $SRC $SRC_OFF $DST $DST_OFF $len
	dmsetup remove fm
done
dmsetup remove fd
