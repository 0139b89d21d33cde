#!/bin/bash
# pause/resume/rate messages, suspend/resume and table reload mid-copy, remove while copying, rmmod refused while in use.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 19
start_migration m $len 256 rate 2048
sleep 1

log "pause"
dmsetup message m 0 pause
sleep 0.5	# copies in flight finish
expect_eq state paused "$(vm_state m)"
c1=$(vm_field m 4)
sleep 2
expect_eq "copied KiB while paused" "$c1" "$(vm_field m 4)"

log "resume"
dmsetup message m 0 resume
expect_eq state copying "$(vm_state m)"
sleep 2
c2=$(vm_field m 4)
[ "$c2" -gt "$c1" ] || fail "no progress after resume ($c1 -> $c2)"

log "rate 256"
dmsetup message m 0 rate 256
expect_eq "rate in status" 256 "$(vm_field m 3)"
dmsetup table m | matches " rate 256\$" || fail "rate not in the table line: $(dmsetup table m)"
t0=$(date +%s.%N); a=$(vm_field m 4)
sleep 4
t1=$(date +%s.%N); b=$(vm_field m 4)
# never faster than the rate (plus one 1/8 s copy and one in flight)
limit=$(echo "($t1 - $t0) * 256 + 256 + 128" | bc | cut -d. -f1)
[ $((b - a)) -le "$limit" ] || fail "copied $((b - a)) KiB in $(echo "$t1 - $t0" | bc)s at 256 KiB/s"
[ $((b - a)) -gt 0 ] || fail "no progress at 256 KiB/s"

log "bad messages"
! dmsetup message m 0 rate abc 2>/dev/null || fail "rate abc accepted"
! dmsetup message m 0 frobnicate 2>/dev/null || fail "unknown message accepted"
! dmsetup message m 0 pause now 2>/dev/null || fail "pause with an argument accepted"
dev=$(dmsetup info -c --noheadings -o major,minor m | tr -d ' ')
dmesg | matches -F "vmotion: $dev: invalid rate 'abc'" || fail "no log line for rate abc"
dmesg | matches -F "vmotion: $dev: unsupported message 'frobnicate'" || fail "no log line for frobnicate"
expect_eq "rate unchanged by bad messages" 256 "$(vm_field m 3)"

log "suspend/resume mid-copy"
dmsetup message m 0 rate 4096
sleep 1
dmsetup suspend m
s1=$(vm_status m)
sleep 1
expect_eq "no copying while suspended" "$s1" "$(vm_status m)"
dmsetup resume m
sleep 2
[ "$(vm_field m 4)" -gt "$(echo "$s1" | cut -d' ' -f5)" ] || fail "no progress after resume"

log "reload mid-copy: the copy starts again from the beginning"
table=$(dmsetup table m)
dmsetup reload m --table "$table"
dmsetup resume m
sleep 0.2
log "after reload: $(vm_status m)"
dmsetup message m 0 rate 0
wait_state m synced 300
same_range $SRC $SRC_OFF $DST $DST_OFF $len
expect_eq "copied KiB after reload covers everything again" $((len / 2)) "$(vm_field m 4)"

log "remove while copying"
wipe $DST
start_migration m2 $len 256 rate 1024
sleep 1
expect_eq state copying "$(vm_state m2)"
if rmmod dm_vmotion 2>/dev/null; then fail "rmmod succeeded while a table uses the target"; fi
lsmod | matches '^dm_vmotion ' || fail "module gone while in use"
dmsetup remove m
dmsetup remove m2
# the source was never touched by any of this
fill /dev/vdc 0 $len 19
same_range $SRC $SRC_OFF /dev/vdc 0 $len
rmmod dm_vmotion
rmmod dm_vmotion_metadata
rmmod dm_vmotion_bitmap
! lsmod | matches '^dm_vmotion' || fail "modules still loaded"
