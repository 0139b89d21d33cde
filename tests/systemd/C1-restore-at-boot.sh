#!/bin/bash
# With systemd as PID 1 and udevd: a migration cut short (the tool stopped, the device rebuilt linear on its source as a boot configuration does) is taken up again by vmotion-restore.service as at boot: disks found by their stable identity, the same metadata, resumed where it stopped (N of M regions in sync, N > 0), then switched; bytes equal; afterwards the udev path's unit refuses to migrate onto the destination whose metadata says switched.
. "$(dirname "$0")/../lib.sh"
load_vmotion
[ "$(ps -p 1 -o comm=)" = systemd ] || fail "systemd is not PID 1 (run with run-vm --systemd)"

len=$((64 * 2048))
disk=$(sectors /dev/vdb)
end=$(((disk - 24) / 8 * 8))
wipe /dev/vda /dev/vdb
fill /dev/vda 2048 $len 101
hdr() { "$REPO/tests/vmm-header" "$1" "$2" | awk -v f="$3" '$1 == f { print $2 }'; }

# the tool and the units, as make install puts them
install -D -m 0755 "$REPO/tools/vmotion/vmotion" /usr/local/sbin/vmotion
sed "s|@SBINDIR@|/usr/local/sbin|" "$REPO/tools/systemd/vmotion-restore.service" \
	> /etc/systemd/system/vmotion-restore.service
sed "s|@SBINDIR@|/usr/local/sbin|" "$REPO/tools/systemd/vmotion-migrate@.service" \
	> /etc/systemd/system/vmotion-migrate@.service
systemctl daemon-reload
systemd-analyze verify --man=no /etc/systemd/system/vmotion-restore.service > /tmp/verify.out 2>&1 ||
	fail "systemd-analyze verify: $(cat /tmp/verify.out)"

dmsetup create rs --table "0 $len linear /dev/vda 2048"
linear=$(dmsetup table rs)
sum=$(sum_range /dev/mapper/rs 0 $len)
env --default-signal vmotion migrate --rate 4M rs /dev/vdb > /tmp/rs.out 2>&1 &
mig=$!
wait_migrating rs
wait_synced_ge rs 30
kill -INT $mig
wait $mig || true
grep -q "^dest_id=serial=vmdisk1$" /var/lib/vmotion/rs.state || fail "record: $(cat /var/lib/vmotion/rs.state)"
grep -q "^segment.0.source_id=serial=vmdisk0$" /var/lib/vmotion/rs.state || fail "record: $(cat /var/lib/vmotion/rs.state)"
grep -q "^segment.0.metadata_id=serial=vmdisk1$" /var/lib/vmotion/rs.state || fail "record: $(cat /var/lib/vmotion/rs.state)"
uuid=$(hdr /dev/vdb $end uuid)

log "the device rebuilt linear on its source, as at boot; the unit starts"
dmsetup suspend rs
dmsetup reload rs --table "$linear"
dmsetup resume rs
dmesg -C
# Type=notify: start returns once every table is loaded again
systemctl start vmotion-restore.service
dmsetup table rs | matches " vmotion " || fail "not migrating once the unit is started: $(dmsetup table rs)"
line=$(dmesg | grep -o "metadata [0-9a-f-]*: [0-9]* of 128 regions in sync" | tail -1)
[ -n "$line" ] || fail "no load message: $(dmesg | tail -5)"
log "kernel: $line"
loaded=$(echo "$line" | awk '{ print $3 }')
[ "$loaded" -gt 0 ] || fail "the reload resumed nothing: $line"
expect_eq "same migration" "$uuid" "$(hdr /dev/vdb $end uuid)"
for ((i = 0; i < 1200; i++)); do
	case "$(systemctl show -p ActiveState --value vmotion-restore.service)" in
	inactive | failed) break ;;
	esac
	sleep 0.5
done
journalctl -b -o cat -u vmotion-restore.service > /tmp/restore.journal
cat /tmp/restore.journal
expect_eq "result of vmotion-restore" success "$(systemctl show -p Result --value vmotion-restore.service)"
grep -q "^rs: segment 0 resumes migration ${uuid:0:8}-.* from its metadata (/dev/vdb:$end, copying)$" /tmp/restore.journal ||
	fail "the unit did not say it resumes"
grep -q "^rs: switched to the destination ($(majmin /dev/vdb)); I/O paused for" /tmp/restore.journal ||
	fail "no switch in the unit's journal"
expect_eq "rs table" "0 $len linear $(majmin /dev/vdb) 0" "$(dmsetup table rs)"
expect_eq "header after the switch" 3 "$(hdr /dev/vdb $end state)"
expect_eq "data after the switch" "$sum" "$(sum_range /dev/mapper/rs 0 $len)"
same_range /dev/vda 2048 /dev/vdb 0 $len

log "the next boot rebuilds it on its source: the udev path's unit refuses the switched destination"
dmsetup remove rs
dmsetup create rs --table "$linear"
rm /var/lib/vmotion/rs.state
mkdir -p /etc/vmotion
echo "rs serial=vmdisk1" > /etc/vmotion/migrations.conf
vdb_sum=$(sum_range /dev/vdb 0 $len)
systemctl start vmotion-migrate@rs.service
for ((i = 0; i < 600; i++)); do
	case "$(systemctl show -p ActiveState --value vmotion-migrate@rs.service)" in
	inactive | failed) break ;;
	esac
	sleep 0.5
done
expect_eq "result of vmotion-migrate@rs" exit-code "$(systemctl show -p Result --value vmotion-migrate@rs.service)"
journalctl -b -o cat -u vmotion-migrate@rs.service | matches "/dev/vdb:$end records a switched migration ${uuid:0:8}-" ||
	fail "no refusal in the journal: $(journalctl -b -o cat -u vmotion-migrate@rs.service)"
expect_eq "rs left as it was" "$linear" "$(dmsetup table rs)"
expect_eq "vdb untouched" "$vdb_sum" "$(sum_range /dev/vdb 0 $len)"
rm /etc/vmotion/migrations.conf
dmsetup remove rs
# the next scenario in this boot (C0) counts the migrate units it sees
systemctl reset-failed vmotion-migrate@rs.service vmotion-restore.service 2> /dev/null || true
systemctl stop vmotion-restore.service 2> /dev/null || true
