#!/bin/bash
# on_error pause (the default): a destination stretch that fails writes (dm-error) pauses the migration with an event, the regions concerned unsynced and the destination out of the write path, fio verify unbroken; healed (linear again) and resumed with vmotion resume, it completes byte for byte.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((128 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 63
# 64-65 MiB of the destination fails writes (reads too): the copy gets
# there with 0-64 MiB in sync
bad=$((64 * 2048))
dmsetup create pd --table "0 $bad linear $DST $DST_OFF
$bad 2048 error
$((bad + 2048)) $((len - bad - 2048)) linear $DST $((DST_OFF + bad + 2048))"
dmsetup create pm --table "0 $len linear $SRC $SRC_OFF"
dmsetup reload pm --table "0 $len vmotion $SRC $SRC_OFF /dev/mapper/pd 0 128"
ev=$(event_nr pm)
dmsetup resume pm
fio_loop_start pz /dev/mapper/pm 32M 4k
timeout 300 dmsetup wait pm "$ev" || fail "no dm event for the error"
wait_state pm paused 60
expect_eq "paused by" error "$(vm_field pm 8)"
[ "$(vm_field pm 5)" -ge 1 ] || fail "dest errors not counted: $(vm_status pm)"
dmesg | matches "vmotion: .*migration paused" || fail "no log line for the pause"
vmotion status pm | matches "paused (error)" || fail "vmotion status: $(vmotion status pm)"
rc=0
vmotion wait pm > /tmp/wait.out 2>&1 || rc=$?
expect_eq "vmotion wait on an error pause" 1 "$rc"
grep -q "paused by an error" /tmp/wait.out || fail "vmotion wait: $(cat /tmp/wait.out)"

# paused: nothing is copied, and writes reach the source alone.  32-33 MiB
# (16 regions synced before the copy reached 64 MiB, away from fio)
# rewritten with what it holds: 16 fewer regions in sync.
c1=$(vm_field pm 4) s1=$(vm_field pm 0)
dd if=/dev/mapper/pm of=/dev/mapper/pm bs=64k skip=512 seek=512 count=16 \
	iflag=direct oflag=direct conv=notrunc status=none
sleep 2
expect_eq "copied KiB while paused" "$c1" "$(vm_field pm 4)"
s2=$(vm_field pm 0)
[ "${s2%/*}" -le $((${s1%/*} - 16)) ] || fail "writes while paused left regions counted in sync ($s1 -> $s2)"
log "paused: $(vm_status pm)"

log "healing the destination and resuming"
dmsetup suspend pd
dmsetup reload pd --table "0 $len linear $DST $DST_OFF"
dmsetup resume pd
vmotion resume pm
dmsetup message pm 0 rate 0
wait_state pm synced 300
fio_loop_stop pz
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove pm
dmsetup remove pd

log "a write error on a blk-mq destination (loop over a full tmpfs) unsyncs its region, not the device"
modprobe loop
mkdir -p /tmp/full
mount -t tmpfs -o size=8M tmpfs /tmp/full
truncate -s $((len * 512)) /tmp/full/dest.img
dd if=/dev/zero of=/tmp/full/filler bs=1M status=none 2>/dev/null || true
loop=$(losetup -f --show /tmp/full/dest.img)
regions=$((len / 128))
dmsetup create pm --table "0 $len vmotion $SRC $SRC_OFF $loop 0 128 1 nosync"
wait_state pm synced 60
# a hole of the image: the write needs a block tmpfs no longer has
dd if=/dev/urandom of=/dev/mapper/pm bs=4k seek=$((100 * 16)) count=1 oflag=direct conv=notrunc status=none ||
	fail "the application's write failed"
wait_state pm paused 30
expect_eq "regions in sync after one failed write" "$((regions - 1))/$regions" "$(vm_field pm 0)"
dmsetup remove pm
losetup -d "$loop"
umount /tmp/full
