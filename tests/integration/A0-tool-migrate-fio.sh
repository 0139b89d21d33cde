#!/bin/bash
# vmotion migrate + switch under fio verify load: no verify error across the switch, linear on the destination after, bytes equal.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((128 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 31
dmsetup create mig --table "0 $len linear $SRC $SRC_OFF"
# fio on the first 64 MiB through the switch; the rest is left alone
fio_loop_start across /dev/mapper/mig 64M 4k
sleep 2
vmotion migrate --rate 16M mig $DST > /tmp/migrate.out 2>&1 || { cat /tmp/migrate.out; fail "migrate exited $?"; }
cat /tmp/migrate.out
kill -0 $FIO_LOOP_PID 2>/dev/null || fail "fio stopped before the switch: the test proved nothing"
sleep 3
fio_loop_stop across

grep -q "^mig: switched to the destination ($(majmin $DST)); I/O paused for [0-9.]* ms$" /tmp/migrate.out ||
	fail "no switch line with the pause"
log "switch pause: $(grep -o 'paused for .*' /tmp/migrate.out)"
grep -qE "^mig: [0-9.]+% .* ETA .* \(copying\)$" /tmp/migrate.out || fail "no plain progress line"
expect_eq table "0 $len linear $(majmin $DST) 0" "$(dmsetup table mig)"
# the half fio did not touch went over byte for byte
same_range $SRC $((SRC_OFF + 131072)) $DST 131072 131072
same_range /dev/mapper/mig 131072 $SRC $((SRC_OFF + 131072)) 131072
dmsetup remove mig
