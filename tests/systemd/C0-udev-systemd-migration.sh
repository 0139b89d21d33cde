#!/bin/bash
# With systemd as PID 1 and udevd: hot-plugging the configured disk (PCI hotplug through QEMU's monitor) makes systemd start the sandboxed vmotion-migrate@mig.service, which migrates under fio load and switches; started again as at the next boot, with the old device rebuilt on its source, it leaves the disk alone; another hot-plugged disk starts nothing; an unsafe one is refused, untouched.
. "$(dirname "$0")/../lib.sh"
load_vmotion
[ "$(ps -p 1 -o comm=)" = systemd ] || fail "systemd is not PID 1 (run with run-vm --systemd)"

len=$((64 * 2048))
wipe /dev/vda /dev/vdd
fill /dev/vda 2048 $len 71
fill /dev/vda $((2048 + len)) $len 72
mkfs.ext4 -q -F /dev/vdd 64M
unsafe_sum=$(sum_range /dev/vdd 0 $((64 * 2048)))

# the project's tool, rule, unit and config, as make install puts them: the
# tool outside the checkout, which may sit under /tmp or /var/tmp, hidden
# from the unit by its PrivateTmp (CI's clone once was)
install -D -m 0755 "$REPO/tools/vmotion/vmotion" /usr/local/sbin/vmotion
sed "s|@SBINDIR@|/usr/local/sbin|" "$REPO/tools/udev/69-vmotion.rules" > /etc/udev/rules.d/69-vmotion.rules
sed "s|@SBINDIR@|/usr/local/sbin|" "$REPO/tools/systemd/vmotion-migrate@.service" \
	> /etc/systemd/system/vmotion-migrate@.service
mkdir -p /etc/vmotion
cat > /etc/vmotion/migrations.conf <<CONF
mig   serial=vmdisk5   --rate 32M
mig2  by-id=virtio-vmdisk3
CONF
udevadm control --reload
systemctl daemon-reload
# the unit's sandbox, as systemd scores it (not worse than when made)
systemd-analyze security vmotion-migrate@mig.service > /tmp/sec.out 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for vmotion-migrate@mig.service: \([0-9.]*\).*/\1/p' /tmp/sec.out)
log "systemd-analyze security: exposure ${score:-?}"
[ -n "$score" ] && [ "$(echo "$score <= 2.0" | bc)" = 1 ] ||
	fail "the unit's exposure is ${score:-unknown}: $(tail -3 /tmp/sec.out)"

# dmsetup with udev running: nodes come from the dm udev rules
dmsetup create mig --table "0 $len linear /dev/vda 2048"
dmsetup create mig2 --table "0 $len linear /dev/vda $((2048 + len))"
mig2_table=$(dmsetup table mig2)
[ -b /dev/mapper/mig ] || fail "udev did not create /dev/mapper/mig"

unit_state() { systemctl show -p ActiveState --value "vmotion-migrate@$1.service"; }
# wait_unit NAME: until the unit has run and stopped
wait_unit() {
	local i
	for ((i = 0; i < 600; i++)); do
		if [ -n "$(systemctl show -p ExecMainExitTimestampMonotonic --value "vmotion-migrate@$1.service" | grep -v '^0$')" ]; then
			case "$(unit_state "$1")" in inactive | failed) return 0 ;; esac
		fi
		sleep 0.5
	done
	fail "vmotion-migrate@$1.service did not finish: $(unit_state "$1")"
}

fio_loop_start sd /dev/mapper/mig 32M 4k
sleep 2
# a disk nobody configured is plugged in: nothing starts
other=$(hotplug_disk 4)
udevadm settle
sleep 1
[ -b "/dev/disk/by-id/virtio-vmdisk4" ] || fail "udev did not see the plugged disk $other"
[ -z "$(systemctl list-units --all --no-legend 'vmotion-migrate@*')" ] ||
	fail "a unit started for $other: $(systemctl list-units --all --no-legend 'vmotion-migrate@*')"

# the new disk for mig is plugged in
new=$(hotplug_disk 5)
log "plugged in: $other (vmdisk4), $new (vmdisk5)"
wait_unit mig
journalctl -b -o cat -u vmotion-migrate@mig.service > /tmp/mig.journal
cat /tmp/mig.journal
expect_eq "result of vmotion-migrate@mig" success "$(systemctl show -p Result --value vmotion-migrate@mig.service)"
grep -q "^mig: switched to the destination ($(majmin "$new")); I/O paused for" /tmp/mig.journal ||
	fail "no switch in the unit's journal"
expect_eq "mig table" "0 $len linear $(majmin "$new") 0" "$(dmsetup table mig)"
sleep 2
fio_loop_stop sd
same_range /dev/vda $((2048 + 32 * 2048)) "$new" $((32 * 2048)) $((32 * 2048))
grep -q "^state=switched$" /var/lib/vmotion/mig.state || fail "no record: $(cat /var/lib/vmotion/mig.state)"

# The next boot: the old device is rebuilt on its source by whatever made it
# (stale), and the disk is seen again: the unit runs, and leaves it alone.
new_sum=$(sum_range "$new" 0 $len)
dmsetup remove mig
dmsetup create mig --table "0 $len linear /dev/vda 2048"
systemctl start vmotion-migrate@mig.service
wait_unit mig
journalctl -b -o cat -u vmotion-migrate@mig.service > /tmp/mig.journal
expect_eq "result of the unit run again" success "$(systemctl show -p Result --value vmotion-migrate@mig.service)"
grep -q "^mig: its migration to $new already switched to it (/var/lib/vmotion/mig.state, switched); not starting it again" /tmp/mig.journal ||
	fail "the unit did not say why it did nothing: $(tail -5 /tmp/mig.journal)"
expect_eq "mig (stale) left as it was" "0 $len linear $(majmin /dev/vda) 2048" "$(dmsetup table mig)"
expect_eq "the new disk untouched" "$new_sum" "$(sum_range "$new" 0 $len)"

# the unsafe disk for mig2 appears: refused, logged, untouched
udevadm trigger --action=add --settle /sys/block/vdd
wait_unit mig2
expect_eq "result of vmotion-migrate@mig2" exit-code "$(systemctl show -p Result --value vmotion-migrate@mig2.service)"
journalctl -b -o cat -u vmotion-migrate@mig2.service | matches "/dev/vdd: the destination carries an ext4 signature; refusing" ||
	fail "no refusal in the journal: $(journalctl -b -o cat -u vmotion-migrate@mig2.service)"
expect_eq "mig2 untouched" "$mig2_table" "$(dmsetup table mig2)"
expect_eq "vdd untouched" "$unsafe_sum" "$(sum_range /dev/vdd 0 $((64 * 2048)))"

dmsetup remove mig
dmsetup remove mig2
