#!/bin/bash
# busy_copy_share: the copier rests while the application does I/O, full speed once it stops; bad values refused.
. "$(dirname "$0")/../lib.sh"
load_vmotion

param=/sys/module/dm_vmotion/parameters/busy_copy_share
expect_eq "default busy_copy_share" 50 "$(cat $param)"
trap 'echo 50 > $param' EXIT
for bad in 0 101 -1 abc 1.5 ""; do
	if echo "$bad" > $param 2>/dev/null; then
		fail "busy_copy_share accepted '$bad'"
	fi
	expect_eq "busy_copy_share after '$bad'" 50 "$(cat $param)"
done
echo 100 > $param
expect_eq "busy_copy_share set" 100 "$(cat $param)"

# 1% of the time under load: every copy is followed by a rest 99 times as
# long, so two seconds of fio leave most of the 128 regions unsynced (a
# copier that did not rest would be done in under a second).
echo 1 > $param
len=$((64 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 45
# migrate_under_fio FIONAME: fio on the linear device "share" first, then
# the vmotion table: the copier never sees an idle device.  Sets fio_pid.
migrate_under_fio() {
	local stat=/sys/dev/block/$(majmin /dev/mapper/share)/stat i n0
	n0=$(awk '{ print $5 }' "$stat")
	fio_verify "$1" /dev/mapper/share 64M 4k &
	fio_pid=$!
	# fio is writing (it starts slowly on a debug kernel)
	for ((i = 0; i < 600; i++)); do
		[ "$(awk '{ print $5 }' "$stat")" -gt $((n0 + 200)) ] && break
		sleep 0.1
	done
	[ $i -lt 600 ] || fail "fio did not start writing to /dev/mapper/share"
	dmsetup reload share --table "0 $len vmotion $SRC $SRC_OFF $DST $DST_OFF 1024"
	dmsetup resume share
}
dmsetup create share --table "0 $len linear $SRC $SRC_OFF"
migrate_under_fio share
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
migrate_under_fio share2
sleep 1
expect_eq "state under load at 1%" copying "$(vm_state share)"
dmsetup reload share --table "0 $len linear $SRC $SRC_OFF"
dmsetup resume share
wait $fio_pid || fail "fio exited with an error after the abort"
fio_ok share2
dmsetup remove share
