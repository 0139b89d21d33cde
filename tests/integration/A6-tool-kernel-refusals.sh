#!/bin/bash
# switch refuses a destination that died while idle, and switch and abort roll back when the resume that swaps in the linear table fails (a disk under it shrank): exit 1, vmotion table live and unsuspended, no inactive table left, fio verify unbroken; both work once the disk is back.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))
short=$((48 * 2048))
migrated_on_dm k $len 61
mig_table=$(dmsetup table km)

# refused MESSAGE ARGS...: vmotion exits 1 saying MESSAGE; km unchanged and
# still in sync
refused() {
	vmotion_refused km "$mig_table" 1 "$@"
	expect_eq "state after 'vmotion ${*:2}'" synced "$(vm_state km)"
}

# The destination dies while nothing writes to the device: the target has
# seen no error and says synced; the tool's read before the suspend notices.
dmsetup reload kd --table "0 $len error"
dmsetup resume kd
refused "km: the destination $(majmin /dev/mapper/kd) does not answer a read (Input/output error); left migrating" switch km
dmsetup reload kd --table "0 $len linear /dev/vdb 0"
dmsetup resume kd

# the application writes the first 16 MiB from now on
fio_loop_start km /dev/mapper/km 16M 4k
sleep 2

# The destination shrinks under the migration: the linear table onto it no
# longer fits.  The kernel takes the table but checks the device sizes when
# the resume swaps it in, so the resume fails with the device suspended.
dmsetup reload kd --table "0 $short linear /dev/vdb 0"
dmsetup resume kd
refused "km: resume on the destination failed (see dmesg); back to the vmotion table" switch km
dmesg | matches "too small for target" || fail "the kernel did not say why it refused"
dmsetup reload kd --table "0 $len linear /dev/vdb 0"
dmsetup resume kd

# the source shrinks: abort's linear table onto it no longer fits
dmsetup reload ks --table "0 $short linear /dev/vda 0"
dmsetup resume ks
refused "km: resume with the linear table failed (see dmesg); the old table stays" abort km
dmsetup reload ks --table "0 $len linear /dev/vda 0"
dmsetup resume ks

kill -0 "$FIO_LOOP_PID" 2>/dev/null || fail "fio stopped before the switch: the test proved nothing"
vmotion switch km > /tmp/sw.out 2>&1 || { cat /tmp/sw.out; fail "switch after the disk came back"; }
sleep 2
fio_loop_stop km
expect_eq "table after the switch" "0 $len linear $(majmin /dev/mapper/kd) 0" "$(dmsetup table km)"
# what fio did not write came over byte for byte
same_range /dev/mapper/km 32768 /dev/vda 32768 $((len - 32768))
same_range /dev/vdb 32768 /dev/vda 32768 $((len - 32768))
dmsetup remove km
dmsetup remove kd
dmsetup remove ks
