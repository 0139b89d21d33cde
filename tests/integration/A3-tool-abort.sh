#!/bin/bash
# vmotion abort mid-copy: linear on the source again, bytes intact; a follower notices; switch refuses when not in sync; Ctrl-C leaves the migration running.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 47
dmsetup create ab --table "0 $len linear $SRC $SRC_OFF"
orig=$(dmsetup table ab)
sum=$(sum_range /dev/mapper/ab 0 $len)
vmotion migrate --rate 1M --no-switch ab $DST > /tmp/mig.out 2>&1 &
mig=$!
wait_migrating ab
expect_eq state copying "$(vmotion status ab | cut -d' ' -f2)"

# switch refuses while copying, and leaves the device running
mig_table=$(dmsetup table ab)
case "$mig_table" in *" vmotion "*) ;; *) fail "not migrating: $mig_table" ;; esac
vmotion_refused ab "$mig_table" 1 "not in sync" switch ab

vmotion abort ab
expect_eq "table after abort" "$orig" "$(dmsetup table ab)"
wait $mig && fail "migrate exited 0 after an abort"
grep -q "replaced" /tmp/mig.out || fail "migrate did not say why it stopped: $(cat /tmp/mig.out)"
expect_eq "data after abort" "$sum" "$(sum_range /dev/mapper/ab 0 $len)"
if vmotion abort ab 2>/dev/null; then fail "abort of a linear device succeeded"; fi

# Ctrl-C: the tool stops following, the kernel keeps copying
# as from a terminal: a background job of a script starts with SIGINT ignored
env --default-signal vmotion migrate --rate 1M ab $DST > /tmp/int.out 2>&1 &
mig=$!
wait_migrating ab
sleep 1
c1=$(vm_field ab 4)
kill -INT $mig
rc=0
wait $mig || rc=$?
expect_eq "exit status after Ctrl-C" 130 $rc
grep -q "interrupted: the migration goes on in the kernel. Follow it with 'vmotion status ab'" /tmp/int.out ||
	fail "no hint after Ctrl-C: $(cat /tmp/int.out)"
sleep 2
expect_eq "state after Ctrl-C" copying "$(vm_state ab)"
[ "$(vm_field ab 4)" -gt "$c1" ] || fail "the copy stopped with the tool"
vmotion abort ab
expect_eq "data after Ctrl-C and abort" "$sum" "$(sum_range /dev/mapper/ab 0 $len)"
dmsetup remove ab
