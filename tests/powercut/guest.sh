#!/bin/bash
# One boot of the power-cut loop (tests/run-powercut), in the guest.
#
# usage: guest.sh BOOT POINT [MODE]
#   MODE: the table's mode (mirror, track or auto; default mirror): the
#   same in every boot of a round.
#   POINT: start (a new migration, then a cut early in the copy), middle,
#   late (cuts at about half and nine tenths), switch (a cut with the device
#   suspended in sync, as the switch leaves it), final (no cut: the copy
#   ends and the device moves to the destination); tool-switch (the tool
#   migrates with its default metadata, at the destination's end, and
#   switches; the cut comes as soon as the switch says it is done, the
#   writer still writing, now to the destination alone), tool-restore (no
#   cut: the boot configuration still rebuilds the device linear on its
#   source; vmotion restore must point it at the destination again, where
#   every acknowledged write must be; the metadata says switched, and
#   neither restore, nor migrate, nor a table naming it starts the
#   migration again).
#
# Every boot after the first loads the same table line with the same
# metadata, and checks before anything else: every write the writer had
# acknowledged before the cut is on the device; the regions loaded in sync
# are at least those recorded in sync at the last status sample before the
# cut, less those with a write-intent bit.  The final boot checks that the
# copy moved no more than the regions not loaded in sync, and that the
# source and the destination are equal.  Results go to $VM_OUT/result-BOOT.
. "$(dirname "$0")/../lib.sh"
boot=$1 point=$2 mode=${3:-mirror}
out=${VM_OUT:?}
result=$out/result-$boot
trap 'echo "FAIL boot $boot ($point): line $LINENO" >> "$result"' ERR
load_vmotion

MD=/dev/vdc
regions=256 region=1024
len=$((regions * region))
blocks=$((len / 8 * 3 / 4))
table="0 $len vmotion $SRC $SRC_OFF $DST $DST_OFF $region 7 rate 16384 metadata $MD 0 mode $mode"
writer=$REPO/tests/powercut/writer

# The tool's records live under /var/lib/vmotion, which must survive the
# cut: the guest's root is a fresh overlay at each boot, the output
# directory is the host's.
mkdir -p "$out/varlib" /var/lib/vmotion
mount --bind "$out/varlib" /var/lib/vmotion
linear="0 $len linear $SRC $SRC_OFF"

# acked: the writes acknowledged in this boot so far
acked() { cat "$out"/wlog.$boot.* 2>/dev/null | wc -l; }
# start_writer: the writer on /dev/mapper/pc (pid $wpid), once it has had
# 200 writes acknowledged (python takes its time to start in a guest)
start_writer() {
	python3 "$writer" write /dev/mapper/pc $blocks 4 "$boot" "$out/wlog.$boot" 2> "$out/writer-$boot.err" &
	wpid=$!
	for ((i = 0; i < 1200; i++)); do
		[ "$(acked)" -ge 200 ] && return 0
		kill -0 $wpid 2>/dev/null || fail "the writer died: $(cat "$out/writer-$boot.err")"
		sleep 0.1
	done
	fail "the writer did not get going in 120 s"
}

if [ "$point" = tool-switch ]; then
	log "boot $boot: vmotion migrates with its metadata and switches"
	rm -f "$out"/wlog.* "$out"/varlib/*
	wipe $DST
	fill $SRC $SRC_OFF $len "$boot"
	dmsetup create pc --table "$linear"
	start_writer
	vmotion migrate --no-switch pc $DST > "$out/migrate-$boot.out" 2>&1 ||
		fail "migrate: $(cat "$out/migrate-$boot.out")"
	matches "metadata on $DST at sector" "$out/migrate-$boot.out" ||
		fail "no metadata: $(cat "$out/migrate-$boot.out")"
	vmotion switch pc > "$out/switch-$boot.out" 2>&1 ||
		fail "switch: $(cat "$out/switch-$boot.out")"
	# the writer goes on: what it writes now is on the destination alone
	n=$(acked)
	for ((i = 0; i < 300; i++)); do
		[ "$(acked)" -ge $((n + 100)) ] && break
		sleep 0.1
	done
	[ "$(acked)" -ge $((n + 100)) ] || fail "the writer did not go on after the switch"
	echo "PASS boot $boot ($point): cut after '$(grep "switched to the destination" "$out/switch-$boot.out")', $(($(acked) - n)) writes acknowledged since" >> "$result"
	log "boot $boot: power cut"
	touch "$out/cut"
	sleep 600
fi
if [ "$point" = tool-restore ]; then
	# what a boot configuration not yet changed after the switch makes
	dmsetup create pc --table "$linear"
	vmotion restore > "$out/restore-$boot.out" 2>&1 ||
		fail "restore: $(cat "$out/restore-$boot.out")"
	matches "pc: switched to $DST before the system went down.*pointed at $DST again" "$out/restore-$boot.out" ||
		fail "restore did not point the device at the destination: $(cat "$out/restore-$boot.out")"
	expect_eq "table" "0 $len linear $(majmin $DST) 0" "$(dmsetup table pc)"
	python3 "$writer" check /dev/mapper/pc "$out"/wlog.* || fail "acknowledged writes lost"
	# the metadata says switched, and nothing starts the migration again
	md_off=$(sed -n 's/^segment.0.metadata_offset=//p' /var/lib/vmotion/pc.state)
	expect_eq "header state" 3 "$("$REPO/tests/vmm-header" $DST "$md_off" | awk '$1 == "state" { print $2 }')"
	vmotion restore > "$out/restore-again-$boot.out" 2>&1 ||
		fail "restore, again: $(cat "$out/restore-again-$boot.out")"
	matches "^pc: its migration to $DST ended (switched); nothing to restore$" "$out/restore-again-$boot.out" ||
		fail "restore, again: $(cat "$out/restore-again-$boot.out")"
	! dmsetup create pc2 --table "0 $len vmotion $SRC $SRC_OFF $DST 0 2048 3 metadata $DST $md_off" 2> /dev/null ||
		fail "the kernel took a table naming the switched metadata"
	dmesg | matches "records a switched migration" || fail "no kernel message for the switched metadata"
	expect_eq "table after the refusals" "0 $len linear $(majmin $DST) 0" "$(dmsetup table pc)"
	python3 "$writer" check /dev/mapper/pc "$out"/wlog.* || fail "acknowledged writes lost after the refusals"
	dmsetup remove pc
	# the old device made again on the source by a stale configuration,
	# the destination free: migrate refuses it all the same
	dmsetup create old --table "$linear"
	! vmotion migrate old $DST > "$out/migrate-again-$boot.out" 2>&1 ||
		fail "migrate onto the switched destination: $(cat "$out/migrate-again-$boot.out")"
	matches "records a switched migration .*: the destination holds the data" "$out/migrate-again-$boot.out" ||
		fail "migrate onto the switched destination: $(cat "$out/migrate-again-$boot.out")"
	expect_eq "old left as it was" "0 $len linear $(majmin $SRC) $SRC_OFF" "$(dmsetup table old)"
	dmsetup remove old
	echo "PASS boot $boot ($point): $(cat "$out/restore-$boot.out" | tr '\n' ' ')" >> "$result"
	exit 0
fi

if [ "$point" = start ]; then
	log "boot $boot: a new migration"
	rm -f "$out"/wlog.* "$out"/status
	wipe $DST
	dd if=/dev/zero of=$MD bs=4k count=1 oflag=direct status=none
	fill $SRC $SRC_OFF $len "$boot"
	dmesg -C
	dmsetup create pc --table "$table"
	dmsetup message pc 0 pause
	dmesg | matches "formatted metadata" || fail "not formatted: $(dmesg | tail -3)"
	loaded=0
else
	dmesg -C
	dmsetup create pc --table "$table"
	dmsetup message pc 0 pause
	line=$(dmesg | grep -o "[0-9]* of $regions regions in sync, [0-9]* with a write-intent bit" | tail -1)
	[ -n "$line" ] || fail "no load message: $(dmesg | tail -3)"
	read -r loaded _ _ _ _ _ intents _ <<< "$line"
	# field 12 (0-based): regions recorded in sync; the fields after it
	# are not read
	read -r _ _ _ _ _ _ _ _ _ _ _ _ recorded _ < "$out/status" ||
		fail "no status sample from the last boot"
	[[ "$recorded" =~ ^[0-9]+$ ]] ||
		fail "the last status sample has no count of regions recorded in sync: $(cat "$out/status")"
	log "boot $boot: loaded $loaded regions in sync, $intents with a write-intent bit; last sample before the cut: $recorded recorded in sync"
	[ "$loaded" -ge $((recorded - intents)) ] ||
		fail "loaded $loaded regions in sync: fewer than the $recorded recorded before the cut less $intents"
	python3 "$writer" check /dev/mapper/pc "$out"/wlog.* || fail "acknowledged writes lost"
fi

# a status sample every 0.1 s: what was recorded in sync shortly before a cut
(
	while :; do
		s=$(vm_status pc) && echo "$s" > "$out/status.tmp" && mv "$out/status.tmp" "$out/status"
		sleep 0.1
	done
) &
sampler=$!
# the copy goes on once the writer is writing
start_writer
dmsetup message pc 0 resume

synced() { vm_status pc | cut -d/ -f1; }
wait_synced_count() {
	local want=$1 i
	for ((i = 0; i < 3000; i++)); do
		[ "$(synced)" -ge "$want" ] && return 0
		[ "$(vm_state pc)" != failed ] || fail "failed: $(vm_status pc)"
		sleep 0.1
	done
	fail "not $want regions in sync in 300 s: $(vm_status pc)"
}
power_cut() {
	echo "PASS boot $boot ($point): cut with $(vm_status pc)" >> "$result"
	log "boot $boot: power cut ($(vm_status pc 2>/dev/null || echo suspended))"
	touch "$out/cut"
	sleep 600
}

case "$point" in
tool-switch) ;;
start|middle|late)
	case "$point" in
	start) frac=10 ;;
	middle) frac=50 ;;
	late) frac=90 ;;
	esac
	wait_synced_count $((regions * frac / 100))
	# and a random moment after it
	sleep "0.$((RANDOM % 10))"
	power_cut
	;;
switch)
	# as vmotion switch does: mirror first if tracking
	dmsetup message pc 0 mode mirror
	wait_state pc synced 600
	dmsetup suspend pc
	power_cut
	;;
final)
	wait_state pc synced 600
	# tracking, a write after the sync leaves a region to copy again: the
	# end mirrors first, as vmotion switch does
	dmsetup message pc 0 mode mirror
	wait_state pc synced 600
	copied=$(vm_field pc 4) again=$(vm_field pc 16)
	[ "$copied" -le $(((regions - loaded + again) * region / 2)) ] ||
		fail "copied $copied KiB, more than the $((regions - loaded)) regions not loaded in sync and the $again dirtied again"
	kill "$wpid" "$sampler"
	wait "$wpid" "$sampler" 2>/dev/null || true
	python3 "$writer" check /dev/mapper/pc "$out"/wlog.* || fail "acknowledged writes lost"
	dmsetup suspend pc
	same_range $SRC $SRC_OFF $DST $DST_OFF $len
	dmsetup reload pc --table "0 $len linear $DST $DST_OFF"
	dmsetup resume pc
	python3 "$writer" check /dev/mapper/pc "$out"/wlog.* || fail "acknowledged writes not on the destination"
	dmsetup remove pc
	echo "PASS boot $boot ($point, mode $mode): copied $copied KiB after loading $loaded of $regions regions in sync, $again dirtied again" >> "$result"
	;;
*)
	fail "unknown point '$point'"
	;;
esac
