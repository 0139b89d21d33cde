#!/bin/bash
# Modes mirror, track and auto onto a slow destination (dm-delay, writes and flushes 75 ms): bad modes refused, naming them; tracked writes do not wait for the destination; track alone does not converge under a hot load, auto does; live mode changes under verified writes; a destination failure while tracking; bytes equal.
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-delay

# status fields (0-based): 14 mode, 15 mode in force, 16 dirtied again, 17 pass
mode_of() { vm_status "$1" | awk '{ print $15 "/" $16 }'; }
redirtied() { vm_field "$1" 16; }
pass_of() { vm_field "$1" 17; }
synced_of() { vm_status "$1" | cut -d/ -f1; }

# The destination, vdb, behind dm-delay: reads at once, writes and flushes
# 75 ms later.  Reloading it with an error target fails it.
slow_table() { echo "0 $(sectors /dev/vdb) delay /dev/vdb 0 0 /dev/vdb 0 75 /dev/vdb 0 75"; }
dmsetup create slowdst --table "$(slow_table)"
DST=/dev/mapper/slowdst
va=$(cat /sys/block/vda/dev) vs=$(dmsetup info -c --noheadings -o major,minor slowdst | tr -d ' ')

len=$((32 * 2048))
wipe /dev/vda /dev/vdb
fill $SRC $SRC_OFF $len 71

log "bad modes: refused by the table (90) and by the message, naming the mode, changing nothing"
start_migration m $len 128 mode track
expect_eq "table" "0 $len vmotion $va $SRC_OFF $vs $DST_OFF 128 2 mode track" "$(dmsetup table m)"
expect_eq "mode" "track/track" "$(mode_of m)"
dmesg -C
! dmsetup message m 0 mode fast 2>/dev/null || fail "message 'mode fast' accepted"
dmesg | matches "invalid mode 'fast'" || fail "the mode at fault is not named: $(dmesg | tail -3)"
! dmsetup message m 0 mode 2>/dev/null || fail "message 'mode' without a mode accepted"
! dmsetup message m 0 mode track auto 2>/dev/null || fail "message 'mode track auto' accepted"
expect_eq "mode after bad messages" "track/track" "$(mode_of m)"
wait_state m synced 300
expect_eq "passes of an idle copy" 1 "$(pass_of m)"
expect_eq "regions dirtied again, idle" 0 "$(redirtied m)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len

log "a tracked write that takes the device out of sync raises a dm event (dmsetup wait returns)"
# the copier paused, so that only the write can raise it, not a new sync
dmsetup message m 0 pause
ev=$(event_nr m)
! timeout 1 dmsetup wait m "$ev" || fail "an event was pending before the write (event $ev)"
dd if=/dev/urandom of=/dev/mapper/m bs=4k count=1 seek=8 oflag=direct conv=notrunc status=none
timeout 20 dmsetup wait m "$ev" ||
	fail "no dm event after a tracked write unsynced the device (event $ev; now $(event_nr m)): $(vm_status m)"
[ "$(synced_of m)" -lt $((len / 128)) ] || fail "a tracked write left every region in sync: $(vm_status m)"
dmsetup message m 0 resume
wait_state m synced 120
same_range $SRC $SRC_OFF $DST $DST_OFF $len

log "tracked writes to regions in sync go to the source alone, unsync them, and do not wait"
# 20 synchronous 4 KiB writes (dsync: a flush each), one per region
writes() {
	local t0 t1 i
	t0=$(date +%s%N)
	for ((i = 0; i < 20; i++)); do
		dd if=/dev/urandom of=/dev/mapper/m bs=4k count=1 seek=$((i * 16 + $1)) \
			oflag=direct,dsync conv=notrunc status=none
	done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
track_ms=$(writes 0)
[ "$(redirtied m)" -ge 20 ] || fail "20 writes to regions in sync dirtied $(redirtied m) again"
wait_state m synced 120
dmsetup message m 0 mode mirror
expect_eq "mode after 'mode mirror'" "mirror/mirror" "$(mode_of m)"
expect_eq "table after 'mode mirror'" "0 $len vmotion $va $SRC_OFF $vs $DST_OFF 128 2 mode mirror" "$(dmsetup table m)"
r0=$(redirtied m)
mirror_ms=$(writes 4)
expect_eq "regions dirtied again while mirroring" "$r0" "$(redirtied m)"
expect_eq "state after mirrored writes" synced "$(vm_state m)"
log "20 synchronous writes: $track_ms ms tracking, $mirror_ms ms mirroring (destination writes and flushes take 75 ms)"
# mirrored, each waits for a write and a flush of the destination
[ "$mirror_ms" -ge 1500 ] || fail "mirrored writes did not wait for the destination ($mirror_ms ms)"
[ $((track_ms * 2)) -lt "$mirror_ms" ] || fail "tracked writes took $track_ms ms, mirrored $mirror_ms: they waited for the destination"
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove m

log "track alone does not converge under writes to a hot set faster than a pass copies it; auto does"
# 16 MiB in 64 KiB regions at 2 MiB/s: a pass over the hot 4 MiB takes 2 s,
# in which 400 random writes hit nearly every one of its 64 regions
hot_load() {
	fio --name=hot --filename=/dev/mapper/"$1" --size=4M --bs=4k --rw=randwrite \
		--ioengine=libaio --iodepth=4 --direct=1 --rate_iops=200 --time_based \
		--runtime=600 > /tmp/fio-hot-"$1".out 2>&1 &
	HOT_PID=$!
}
hot_stop() {
	kill "$HOT_PID" 2>/dev/null || true
	wait "$HOT_PID" 2>/dev/null || true
}
hlen=$((16 * 2048))
start_migration h $hlen 128 rate 2048 mode track
hot_load h
# watched for 30 s (one status a sample, every 0.2 s) and until pass 4
seen_synced=0 t0=$SECONDS
while [ $((SECONDS - t0)) -lt 60 ]; do
	read -ra f <<< "$(vm_status h)"
	[ "${f[2]}" = synced ] && seen_synced=1
	[ "${f[17]}" -ge 4 ] && [ $((SECONDS - t0)) -ge 30 ] && break
	sleep 0.2
done
log "track, under the hot load: $(vm_status h)"
expect_eq "track reached sync under the hot load" 0 $seen_synced
[ "$(pass_of h)" -ge 3 ] || fail "track: only $(pass_of h) passes: $(vm_status h)"
[ "$(redirtied h)" -ge 64 ] || fail "track: $(redirtied h) regions dirtied again: $(vm_status h)"
dmesg -C
dmsetup message h 0 mode auto
expect_eq "mode after 'mode auto'" "auto/track" "$(mode_of h)"
wait_state h synced 120
expect_eq "mode in force once auto converged" "auto/mirror" "$(mode_of h)"
dmesg | matches "mode auto mirrors from pass" || fail "no log line for the decision: $(dmesg | tail -3)"
log "$(dmesg | grep -o 'mode auto mirrors.*')"
# it stays in sync under the load, mirrored
sleep 2
expect_eq "state under the load, mirrored" synced "$(vm_state h)"
hot_stop
grep -qE 'err= *0' /tmp/fio-hot-h.out || { cat /tmp/fio-hot-h.out; fail "hot load saw errors"; }
same_range $SRC $SRC_OFF $DST $DST_OFF $hlen
dmsetup remove h

log "auto from the start converges under the same load"
wipe /dev/vdb
start_migration h $hlen 128 rate 2048 mode auto
hot_load h
wait_state h synced 180
hot_stop
log "auto: $(vm_status h)"
expect_eq "mode in force" "auto/mirror" "$(mode_of h)"
[ "$(pass_of h)" -ge 2 ] || fail "auto synced in pass $(pass_of h) under a hot load: it never tracked"
same_range $SRC $SRC_OFF $DST $DST_OFF $hlen
dmsetup remove h

log "live mode changes, mid-copy, under verified writes: no write lost"
wipe /dev/vdb
start_migration lv $len 128 rate 4096 mode track
fio_loop_start lv /dev/mapper/lv 32M 4k
modes=(mirror track auto track mirror auto)
for ((i = 0; i < 36; i++)); do
	dmsetup message lv 0 mode "${modes[i % 6]}"
	sleep 0.3
done
log "after the changes: $(vm_status lv)"
dmsetup message lv 0 mode mirror
fio_loop_stop lv
wait_state lv synced 300
same_range $SRC $SRC_OFF $DST $DST_OFF $len
[ "$(redirtied lv)" -ge 1 ] || fail "no region dirtied again: nothing was tracked"
dmsetup remove lv

for policy in fail pause; do
	log "destination failure while tracking, on_error $policy: source intact, writes unharmed"
	wipe /dev/vdb
	start_migration df $len 128 rate 4096 mode track on_error $policy
	wait_synced_ge df 100 120
	fio_verify df /dev/mapper/df 32M 4k --runtime=8 --time_based &
	fio_pid=$!
	sleep 2
	dmsetup reload slowdst --table "0 $(sectors /dev/vdb) error"
	dmsetup suspend slowdst
	dmsetup resume slowdst
	if [ $policy = fail ]; then
		wait_state df failed 60
	else
		wait_state df paused 60
		expect_eq "paused by" error "$(vm_field df 8)"
	fi
	wait $fio_pid || { cat /tmp/fio-df.out; fail "fio saw an error after the destination failed"; }
	fio_ok df
	[ "$(vm_field df 5)" -ge 1 ] || fail "destination errors not counted: $(vm_status df)"
	dmsetup reload slowdst --table "$(slow_table)"
	dmsetup suspend slowdst
	dmsetup resume slowdst
	if [ $policy = pause ]; then
		dmsetup message df 0 resume
		wait_state df synced 300
		same_range $SRC $SRC_OFF $DST $DST_OFF $len
	fi
	# fio read back through the device, from the source: it holds every write
	dmsetup remove df
done

log "a failed migration whose metadata could not record the failure: writes go to both devices again, tracked or not"
# The metadata device fails whole: the commit fails, and so does the
# header's "failed", so the bitmaps on it still count and every write
# must reach both devices (VM_MIRROR_ON), as in mirror.
wipe /dev/vdb /dev/vdc
dmsetup create mdd --table "0 2048 linear /dev/vdc 0"
start_migration mf $len 128 rate 2048 mode track metadata /dev/mapper/mdd 0
wait_synced_ge mf 8 120
dmsetup suspend mdd
dmsetup reload mdd --table "0 2048 error"
dmsetup resume mdd
wait_state mf failed 60
dmesg | matches "metadata cannot record the failure: writes still go to both devices" ||
	fail "no message: $(dmesg | tail -5)"
expect_eq "mode once failed" "track/mirror" "$(mode_of mf)"
# region 0 was copied and recorded in sync before the failure
dd if=/dev/urandom of=/tmp/r0 bs=4k count=1 status=none
dd if=/tmp/r0 of=/dev/mapper/mf bs=4k count=1 oflag=direct conv=notrunc status=none
cmp /tmp/r0 <(dd if=/dev/vdb bs=512 skip=$DST_OFF count=8 iflag=direct status=none) ||
	fail "a write to a region recorded in sync did not reach the destination once failed: $(vm_status mf)"
dmsetup remove mf
dmsetup remove mdd
dmsetup remove slowdst
