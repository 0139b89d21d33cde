#!/bin/bash
# The tool and modes, onto a slow destination (dm-delay, writes and flushes 75 ms): migrate --mode track under a load that ends and --mode auto under one that goes on, each switched, bytes on the destination; status and status --json show the mode; vmotion mode changes it and refuses a bad one; switch mirrors first when the device tracks.
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-delay

# status fields (0-based): 14 mode, 15 mode in force
mode_of() { vm_status "$1" | awk '{ print $15 "/" $16 }'; }

# The destination, vdb, behind dm-delay: reads at once, writes and flushes
# 75 ms later
. "$REPO/tests/slowdest.sh"
delay_dest_start /dev/vdb 0 "$(sectors /dev/vdb)" 75
DST=$DELAY_DEV
vs=$(dmsetup info -c --noheadings -o major,minor slowdst | tr -d ' ')

len=$((32 * 2048))
wipe /dev/vda /dev/vdb

log "the tool: migrate --mode track (a load that ends) and --mode auto (a load that goes on) under verified writes, switch, bytes on the destination"
for mode in track auto; do
	wipe /dev/vdb
	fill $SRC $SRC_OFF $len $((72 + ${#mode}))
	dmsetup create tm --table "0 $len linear $SRC $SRC_OFF"
	if [ $mode = track ]; then
		fio_verify tm /dev/mapper/tm 32M 4k --runtime=10 --time_based &
		fio_pid=$!
	else
		fio_loop_start tm /dev/mapper/tm 32M 4k
	fi
	sleep 1
	vmotion migrate --mode $mode --rate 8M --no-metadata tm $DST > /tmp/tm.out 2>&1 ||
		{ cat /tmp/tm.out; fail "migrate --mode $mode"; }
	cat /tmp/tm.out
	grep -q "^tm: migrating to $DST (512 KiB regions, mode $mode, rate limited)" /tmp/tm.out ||
		fail "the start line does not name the mode"
	grep -q "^tm: mode $mode: writes go to both devices from now on, for the switch" /tmp/tm.out ||
		[ "$mode" = auto ] || fail "the switch did not mirror first"
	grep -q "^tm: switched to the destination ($vs); I/O paused for [0-9.]* ms$" /tmp/tm.out ||
		fail "no switch"
	if [ $mode = track ]; then
		wait $fio_pid || { cat /tmp/fio-tm.out; fail "fio during the track migration"; }
		fio_ok tm
	else
		fio_loop_stop tm
	fi
	expect_eq "table after the switch" "0 $len linear $vs 0" "$(dmsetup table tm)"
	same_range /dev/mapper/tm 0 /dev/vdb 0 $len
	dmsetup remove tm
done

log "the tool: status shows the mode, vmotion mode changes it and refuses a bad one, switch mirrors first"
wipe /dev/vdb
dmsetup create tm --table "0 $len linear $SRC $SRC_OFF"
vmotion migrate --mode track --no-switch --no-metadata tm $DST > /tmp/tm.out 2>&1 ||
	{ cat /tmp/tm.out; fail "migrate --no-switch --mode track"; }
vmotion status tm | matches "mode track (tracking), pass 1, 0 regions dirtied again" ||
	fail "status: $(vmotion status tm)"
vmotion status --json tm | matches '"mode": "track", "mode_in_force": "track", "redirtied_regions": 0, "pass": 1' ||
	fail "status --json: $(vmotion status --json tm)"
rc=0
vmotion mode tm fast > /tmp/tm.out 2>&1 || rc=$?
expect_eq "exit status of 'vmotion mode tm fast'" 2 $rc
matches "invalid mode 'fast': mirror, track or auto" /tmp/tm.out || fail "vmotion mode tm fast: $(cat /tmp/tm.out)"
expect_eq "mode after the refusal" "track/track" "$(mode_of tm)"
vmotion mode tm auto
expect_eq "mode after 'vmotion mode tm auto'" "auto/track" "$(mode_of tm)"
vmotion status tm | matches "mode auto (tracking)" || fail "status: $(vmotion status tm)"
vmotion switch tm > /tmp/tm.out 2>&1 || { cat /tmp/tm.out; fail "switch"; }
matches "^tm: mode auto: writes go to both devices from now on, for the switch" /tmp/tm.out ||
	fail "switch did not mirror first: $(cat /tmp/tm.out)"
same_range /dev/mapper/tm 0 /dev/vdb 0 $len
dmsetup remove tm
dmsetup remove slowdst
