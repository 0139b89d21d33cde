#!/bin/bash
# udev: a configured new disk gets SYSTEMD_WANTS=vmotion-migrate@<dm>.service, whose ExecStart migrates under fio load; other disks are ignored, unsafe ones refused untouched; a --no-switch typed with --from-config holds.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))
wipe /dev/vda /dev/vdb /dev/vdc /dev/vdd
fill /dev/vda 2048 $len 61
fill /dev/vda $((2048 + len)) $len 62
mkfs.ext4 -q -F /dev/vdd 64M
unsafe_sum=$(sum_range /dev/vdd 0 $((64 * 2048)))

# the project's rule, unit and config, installed into the guest's overlay
sed "s|@SBINDIR@|$REPO/tools/vmotion|" "$REPO/tools/udev/69-vmotion.rules" > /etc/udev/rules.d/69-vmotion.rules
sed "s|@SBINDIR@|$REPO/tools/vmotion|" "$REPO/tools/systemd/vmotion-migrate@.service" > /tmp/vmotion-migrate@.service
mkdir -p /etc/vmotion
cat > /etc/vmotion/migrations.conf <<CONF
# test config
mig   serial=vmdisk2   --rate 32M
mig2  by-id=virtio-vmdisk3
CONF
vmotion check-config

dmsetup create mig --table "0 $len linear /dev/vda 2048"
dmsetup create mig2 --table "0 $len linear /dev/vda $((2048 + len))"
mig2_table=$(dmsetup table mig2)

/lib/systemd/systemd-udevd --daemon
trap 'udevadm control --exit 2>/dev/null || true' EXIT

# udevadm test: the rule's verdict for a matching and a non-matching disk
udevadm test --action=add /sys/block/vdc > /tmp/test-vdc.out 2>&1
grep -q "^SYSTEMD_WANTS=vmotion-migrate@mig.service$" /tmp/test-vdc.out || fail "udevadm test vdc: $(grep -E 'VMOTION|SYSTEMD' /tmp/test-vdc.out)"
udevadm test --action=add /sys/block/vdb > /tmp/test-vdb.out 2>&1
! grep -qE "VMOTION|vmotion-migrate" /tmp/test-vdb.out || fail "the rule matched vdb: $(grep -E 'VMOTION|vmotion' /tmp/test-vdb.out)"

# the disks "appear"
udevadm trigger --action=add --subsystem-match=block
udevadm settle -t 60
wants() { udevadm info --query=property --name="$1" | sed -n 's/^SYSTEMD_WANTS=//p'; }
expect_eq "SYSTEMD_WANTS of vdc" "vmotion-migrate@mig.service" "$(wants /dev/vdc)"
expect_eq "SYSTEMD_WANTS of vdd" "vmotion-migrate@mig2.service" "$(wants /dev/vdd)"
expect_eq "SYSTEMD_WANTS of vdb" "" "$(wants /dev/vdb | grep vmotion || true)"
udevadm info --query=property --name=/dev/vdc | matches "^TAGS=.*:systemd:" || fail "vdc not tagged for systemd"

# what systemd does for each wanted unit: run its ExecStart with %I
execstart() {
	sed -n 's/^ExecStart=//p' /tmp/vmotion-migrate@.service | sed "s/%I/$1/g"
}
fio_loop_start udev /dev/mapper/mig 32M 4k
sleep 2
$(execstart mig) > /tmp/unit-mig.out 2>&1 || { cat /tmp/unit-mig.out; fail "the mig unit failed"; }
cat /tmp/unit-mig.out
grep -q "^mig: /etc/vmotion/migrations.conf:2: disk serial=vmdisk2 is /dev/vdc$" /tmp/unit-mig.out || fail "unit did not name its disk"
expect_eq "mig table" "0 $len linear $(majmin /dev/vdc) 0" "$(dmsetup table mig)"
sleep 2
fio_loop_stop udev
same_range /dev/vda $((2048 + 32 * 2048)) /dev/vdc $((32 * 2048)) $((32 * 2048))

rc=0
$(execstart mig2) > /tmp/unit-mig2.out 2>&1 || rc=$?
expect_eq "exit of the unsafe unit" 1 $rc
grep -q "/dev/vdd: the destination carries an ext4 signature; refusing" /tmp/unit-mig2.out || fail "$(cat /tmp/unit-mig2.out)"
expect_eq "mig2 untouched" "$mig2_table" "$(dmsetup table mig2)"
expect_eq "vdd untouched" "$unsafe_sum" "$(sum_range /dev/vdd 0 $((64 * 2048)))"

# a --no-switch typed on the command line holds, whatever the config says
echo "mig3 by-id=virtio-vmdisk1" >> /etc/vmotion/migrations.conf
dmsetup create mig3 --table "0 $len linear /dev/vda 2048"
vmotion migrate --from-config --no-switch mig3 > /tmp/mig3.out 2>&1 || { cat /tmp/mig3.out; fail "migrate mig3"; }
grep -q "mig3: in sync; run 'vmotion switch mig3'" /tmp/mig3.out || fail "$(cat /tmp/mig3.out)"
case "$(dmsetup table mig3)" in
*" vmotion "*) ;;
*) fail "mig3 switched despite --no-switch: $(dmsetup table mig3)" ;;
esac
vmotion abort mig3 > /dev/null
udevadm settle -t 60
dmsetup remove --retry mig3

# mig's own line is done, not started again
rc=0
vmotion migrate --from-config mig > /tmp/mig.out 2>&1 || rc=$?
expect_eq "exit of migrate --from-config of a switched migration" 0 $rc
grep -q "mig: its migration to /dev/vdc already switched to it" /tmp/mig.out || fail "$(cat /tmp/mig.out)"
# vdc configured for another device: mig's record keeps it off vdc
sed -i 's/^mig  *serial=vmdisk2.*/mig4 serial=vmdisk2/' /etc/vmotion/migrations.conf
vmotion check-config
dmsetup create mig4 --table "0 $len linear /dev/vda $((2048 + len))"
mig4_table=$(dmsetup table mig4)
rc=0
vmotion migrate --from-config mig4 > /tmp/mig4.out 2>&1 || rc=$?
expect_eq "exit of migrate --from-config onto another device's destination" 1 $rc
grep -q "mig4: mig switched to /dev/vdc (recorded in /var/lib/vmotion/mig.state): it holds that device's data; not migrating mig4 onto it" /tmp/mig4.out ||
	fail "$(cat /tmp/mig4.out)"
expect_eq "mig4 untouched" "$mig4_table" "$(dmsetup table mig4)"
dmsetup remove mig4

# partitions share their disk's serial: a switch to one keeps the other free
sfdisk -q /dev/vdb <<PARTS
label: gpt
size=32MiB
size=32MiB
PARTS
udevadm settle -t 60
dmsetup create p1 --table "0 $((16 * 2048)) linear /dev/vda 2048"
dmsetup create p2 --table "0 $((16 * 2048)) linear /dev/vda $((2048 + 16 * 2048))"
vmotion migrate p1 /dev/vdb1 > /tmp/p1.out 2>&1 || { cat /tmp/p1.out; fail "migrate p1"; }
grep -q "^dest_id=serial=vmdisk1,part=1$" /var/lib/vmotion/p1.state || fail "record: $(cat /var/lib/vmotion/p1.state)"
vmotion migrate p2 /dev/vdb2 > /tmp/p2.out 2>&1 || { cat /tmp/p2.out; fail "migrate p2 to the other partition"; }
same_range /dev/vda 2048 /dev/vdb1 0 $((16 * 2048))
same_range /dev/vda $((2048 + 16 * 2048)) /dev/vdb2 0 $((16 * 2048))
udevadm settle -t 60
dmsetup remove --retry p1
dmsetup remove --retry p2

udevadm control --exit
trap - EXIT
rm -f /etc/udev/rules.d/69-vmotion.rules
dmsetup remove mig
dmsetup remove mig2
