#!/bin/bash
# Devices and disks vmotion must not take: LVM, kpartx, multipath and Stratis devices (their manager would undo the move), a destination with two signatures or that cannot be read, one with larger logical blocks; a second migrate; and what an operator meets: the real reason of a device-mapper failure, a missing target, a rate for the whole device over two segments, JSON for odd names, --version, help, getopt messages, wait on a device already switched.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((16 * 2048))
wipe /dev/vda /dev/vdb /dev/vdc /dev/vdd
dmsetup create r --table "0 $len linear /dev/vda 2048"
orig=$(dmsetup table r)

log "devices another manager owns"
for uuid in LVM-AbCdEf0123456789AbCdEf0123456789AbCdEf0123456789AbCdEf01 \
	part1-mpath-3600508b400105e210000900000490000 mpath-3600508b400105e210000900000490000 \
	stratis-1-abc-thin-fs-def; do
	dmsetup create managed --uuid "$uuid" --table "0 $len linear /dev/vda 2048"
	case $uuid in
	LVM-*) msg="managed: an LVM logical volume (UUID $uuid): LVM would rebuild its old table from its metadata and undo the move; use pvmove" ;;
	part*) msg="managed: managed by kpartx (UUID $uuid)" ;;
	mpath-*) msg="managed: managed by multipath (UUID $uuid)" ;;
	stratis-*) msg="managed: managed by Stratis (UUID $uuid)" ;;
	esac
	vmotion_refused managed "$(dmsetup table managed)" 1 "$msg" migrate managed /dev/vdb
	dmsetup remove managed
done

log "a destination with two signatures (blkid: ambivalent), or that cannot be read"
ambivalent /dev/vdc
vmotion_refused r "$orig" 1 "/dev/vdc: the destination carries several signatures (blkid: ambivalent); refusing to overwrite it" migrate r /dev/vdc
expect_eq "vdc untouched" hsqs "$(dd if=/dev/vdc bs=4 count=1 status=none)"
dmsetup create unreadable --table "0 8 error
8 $((len + 2048)) linear /dev/vdd 8"
vmotion_refused r "$orig" 1 "/dev/mapper/unreadable: cannot read the destination to look for signatures (Input/output error): refusing it" \
	migrate --force r /dev/mapper/unreadable
dmsetup remove unreadable
wipe /dev/vdc

log "a destination with 4 KiB logical blocks under a 512-byte source"
modprobe loop
loop=$(losetup -b 4096 -f --show /dev/vdc)
vmotion_refused r "$orig" 1 "$loop: the destination's logical block size is 4096 bytes, larger than the source's ($(majmin /dev/vda), 512 bytes)" migrate r "$loop"
losetup -d "$loop"

log "a second migrate, and the article"
mkfs.ext4 -q -F /dev/vdd 64M
vmotion_refused r "$orig" 1 "/dev/vdd: the destination carries an ext4 signature" migrate r /dev/vdd
wipe /dev/vdd
vmotion migrate --no-switch --rate 64K r /dev/vdb > /tmp/m.out 2>&1 &
first=$!
wait_migrating r
mig=$(dmsetup table r)
vmotion_refused r "$mig" 1 "r: already migrating ('vmotion status r' follows it, 'vmotion abort r' stops it)" migrate r /dev/vdc
vmotion abort r
rc=0; wait $first || rc=$?
expect_eq "exit of the first migrate, aborted under it" 1 $rc
grep -q "r: its vmotion table was replaced by another command (switched or aborted)" /tmp/m.out || fail "$(cat /tmp/m.out)"

log "device-mapper's reason, not a guess"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups vmotion status r > /tmp/out 2>&1 || rc=$?
expect_eq "exit of status as nobody" 1 $rc
grep -q "r: permission denied (device-mapper needs root)" /tmp/out || fail "$(cat /tmp/out)"

log "a rate is for the whole device, however many segments"
dmsetup create two --table "0 $len linear /dev/vda 2048
$len $((3 * len)) linear /dev/vdc 0"
vmotion migrate --no-switch --rate 1M two /dev/vdd > /tmp/m.out 2>&1 &
mig=$!
wait_migrating two
rates=$(dmsetup table two | sed -n 's/.* rate \([0-9]*\)\( .*\)\?$/\1/p' | tr '\n' ' ')
expect_eq "rates of the two segments (1:3)" "256 768 " "$rates"
vmotion status two | matches "rate 1024 KiB/s" || fail "status: $(vmotion status two)"
vmotion rate two 4M
expect_eq "rates after 'vmotion rate two 4M'" "1024 3072 " "$(dmsetup status two | awk '{ print $7 }' | tr '\n' ' ')"
vmotion rate two 0
wait $mig || { cat /tmp/m.out; fail "migrate two"; }
vmotion abort two
dmsetup remove two

log "JSON for a name that is not UTF-8"
name=$(printf 'odd\001\xff\xc3\xa9')
dmsetup --manglename none create "$name" --table "0 $len linear /dev/vda 2048" ||
	fail "dmsetup refused the name"
vmotion migrate --no-switch "$name" /dev/vdb > /tmp/m.out 2>&1 || { cat /tmp/m.out; fail "migrate odd"; }
vmotion status --json > /tmp/s.json
python3 - <<'PY' || fail "JSON: $(cat -v /tmp/s.json)"
import json
raw = open("/tmp/s.json", "rb").read()
doc = json.loads(raw.decode("utf-8"))      # valid UTF-8, valid JSON
names = [d["name"] for d in doc["devices"]]
assert "odd\u0001\u00ff\u00e9" in names, names
PY
vmotion abort "$name"
dmsetup --manglename none remove "$name"

log "--version, help, getopt's messages"
vmotion --version | matches -E "^vmotion [0-9.]+ \(vmotion target interface 1\.[0-9]+\)$" || fail "$(vmotion --version)"
vmotion help switch | matches "^usage: vmotion switch \[--wait-lock\] <dm device>$" || fail "$(vmotion help switch)"
vmotion switch --help | matches "^usage: vmotion switch" || fail "$(vmotion switch --help)"
rc=0; vmotion help frob > /tmp/out 2>&1 || rc=$?
expect_eq "exit of help frob" 2 $rc
rc=0; vmotion migrate --bogus r /dev/vdb > /tmp/out 2>&1 || rc=$?
expect_eq "exit of an unknown option" 2 $rc
grep -q "^vmotion: unrecognized option '--bogus'" /tmp/out || fail "$(cat /tmp/out)"

log "wait on a device that already switched; its destination is not taken again"
dmsetup create fin --uuid VMTEST-fin --table "0 $len linear /dev/vdb 0"
vmotion migrate r /dev/mapper/fin > /tmp/m.out 2>&1 || { cat /tmp/m.out; fail "migrate r"; }
vmotion wait r > /tmp/w.out 2>&1 || fail "wait on a switched device: $(cat /tmp/w.out)"
grep -q "r: already switched to its destination /dev/mapper/fin" /tmp/w.out || fail "$(cat /tmp/w.out)"
grep -q "^state=switched$" /var/lib/vmotion/r.state || fail "record: $(cat /var/lib/vmotion/r.state)"
grep -q "^dest_id=dm-uuid=VMTEST-fin$" /var/lib/vmotion/r.state || fail "record: $(cat /var/lib/vmotion/r.state)"
# r is gone (say, its users moved on): fin is free, and holds r's data
dmsetup remove r
dmsetup create r2 --table "0 $len linear /dev/vdc 0"
vmotion_refused r2 "$(dmsetup table r2)" 1 "/dev/mapper/fin: r switched to it (recorded in /var/lib/vmotion/r.state): it holds that device's data now; refusing (--force to override)" \
	migrate r2 /dev/mapper/fin
dmsetup remove r2
dmsetup remove fin

log "a migration cut short (tool killed, device rebuilt on its source at boot): started again over its own copy"
wipe /dev/vdc
dmsetup create cs --table "0 $len linear /dev/vda 2048"
mkfs.ext4 -q -F /dev/mapper/cs
sum=$(sum_range /dev/mapper/cs 0 $len)
dmsetup create cd --uuid VMTEST-cd --table "0 $len linear /dev/vdc 0"
vmotion migrate --rate 1M cs /dev/mapper/cd > /tmp/c.out 2>&1 &
m=$!
# (the copier writes under the page cache of cd, which the table holds
# open: what blkid read before the copy would stay cached)
for ((i = 0; i < 200; i++)); do
	blockdev --flushbufs /dev/mapper/cd
	[ "$(blkid -p -s TYPE -o value /dev/mapper/cd 2>/dev/null || true)" = ext4 ] && break
	sleep 0.1
done
blockdev --flushbufs /dev/mapper/cd
expect_eq "the partial copy's signature" ext4 "$(blkid -p -s TYPE -o value /dev/mapper/cd)"
kill -KILL $m
wait $m || true
dmsetup reload cs --table "0 $len linear /dev/vda 2048"
dmsetup resume cs
grep -q "^state=migrating$" /var/lib/vmotion/cs.state || fail "record: $(cat /var/lib/vmotion/cs.state)"
dmsetup create cs2 --table "0 $len linear /dev/vda 2048"
vmotion_refused cs2 "$(dmsetup table cs2)" 1 "/dev/mapper/cd: the destination carries an ext4 signature" migrate cs2 /dev/mapper/cd
dmsetup remove cs2
vmotion migrate cs /dev/mapper/cd > /tmp/c.out 2>&1 || { cat /tmp/c.out; fail "migrate cs again"; }
grep -q "^cs: /dev/mapper/cd holds this device's own interrupted migration (/var/lib/vmotion/cs.state): starting it again over it$" /tmp/c.out ||
	fail "$(cat /tmp/c.out)"
expect_eq "cs table" "0 $len linear $(majmin /dev/mapper/cd) 0" "$(dmsetup table cs)"
expect_eq "cs data" "$sum" "$(sum_range /dev/mapper/cs 0 $len)"
dmsetup remove cs
dmsetup remove cd

log "no vmotion target: said so"
rmmod dm_vmotion
dmsetup create r --table "0 $len linear /dev/vda 2048"
vmotion_refused r "$(dmsetup table r)" 1 "the kernel has no vmotion target, and 'modprobe dm-vmotion' did not load one" migrate r /dev/vdb
dmsetup remove r
load_vmotion
