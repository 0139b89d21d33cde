#!/bin/bash
# A source read error during the copy fails the migration (on_error fail) with a clear log line; I/O elsewhere goes on.  With on_error pause it pauses the copier, and the destination stays in the write path: a region in sync stays in sync when written.  A write the source fails takes its region out of sync.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 17
# the source: vda with a bad stretch of 64 KiB at 40 MiB
bad=$((40 * 2048))
dmsetup create src --table "0 $bad linear $SRC $SRC_OFF
$bad 128 error
$((bad + 128)) $((len - bad - 128)) linear $SRC $((SRC_OFF + bad + 128))"
dmsetup create mig --table "0 $len linear /dev/mapper/src 0"
dmsetup reload mig --table "0 $len vmotion /dev/mapper/src 0 $DST $DST_OFF 1024 2 on_error fail"
ev=$(event_nr mig)
dmsetup resume mig
timeout 300 dmsetup wait mig "$ev" || fail "no dm event"
wait_state mig failed 60
log "$(vm_status mig)"
[ "$(vm_field mig 6)" -ge 1 ] || fail "source errors not counted"
expect_eq "dest errors" 0 "$(vm_field mig 5)"
dmesg | matches "vmotion: .*source read error copying sectors" || fail "no clear log line for the source error"
# suspend waits for copies still in flight; then the regions before the
# bad stretch are on the destination intact
dmsetup suspend mig
dmsetup resume mig
synced=$(vm_field mig 0)
[ "${synced%%/*}" -ge 1 ] || fail "nothing was copied before the error"
same_range /dev/mapper/src 0 $DST $DST_OFF $((32 * 2048))
# application I/O away from the bad stretch still works
fio_verify srcerr /dev/mapper/mig 32M 4k
fio_ok srcerr
dmsetup remove mig

log "on_error pause: the copier pauses, writes keep going to both disks"
wipe $DST
dmsetup create mig --table "0 $len vmotion /dev/mapper/src 0 $DST $DST_OFF 1024"
wait_state mig paused 300
expect_eq "paused by" error "$(vm_field mig 8)"
s1=$(vm_field mig 0)
[ "${s1%/*}" -ge 1 ] || fail "nothing in sync before the error: $s1"
# region 0 is in sync: a write to it goes to both disks and keeps it so
head -c 4096 /dev/urandom > /tmp/blk
dd if=/tmp/blk of=/dev/mapper/mig bs=4k seek=2 count=1 oflag=direct conv=notrunc status=none
expect_eq "regions in sync after a write to one" "$s1" "$(vm_field mig 0)"
cmp /tmp/blk <(dd if=$DST bs=4k skip=$((DST_OFF / 8 + 2)) count=1 iflag=direct status=none) ||
	fail "the write did not reach the destination"
dmsetup remove mig

log "a write that fails on the source but not on the destination: the region is not in sync any more"
# the bad stretch at 40 MiB is region 80 (512 KiB regions); in sync from the start
dmsetup create mig --table "0 $len vmotion /dev/mapper/src 0 $DST $DST_OFF 1024 1 nosync"
wait_state mig synced 60
dd if=/tmp/blk of=/dev/mapper/mig bs=4k seek=$((bad / 8)) count=1 oflag=direct status=none 2>/dev/null &&
	fail "a write to the source's bad stretch succeeded"
expect_eq "regions in sync after the failed write" "$((len / 1024 - 1))/$((len / 1024))" "$(vm_field mig 0)"
# the device left "synced", which wakes the copier: it copies the region
# again, meets the bad stretch too and pauses the migration (on_error
# pause, the default): the write's error and the copy's
wait_state mig paused 60
expect_eq "regions in sync after the copy's retry" "$((len / 1024 - 1))/$((len / 1024))" "$(vm_field mig 0)"
expect_eq "source errors (the write's and the copy's)" 2 "$(vm_field mig 6)"
dmsetup remove mig
dmsetup remove src
