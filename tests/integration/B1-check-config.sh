#!/bin/bash
# vmotion check-config accepts a valid config and names file, line and value for every mistake; udev-match never fails the rule.
. "$(dirname "$0")/../lib.sh"

cat > /tmp/good.conf <<'CONF'
# comment
db    serial=S64DNX0R123456   --rate 200M   # trailing comment
logs  wwn=0x5000c500a1b2c3d4 --no-switch
web   by-id=nvme-eui.0025388b21b2c3d4 --region-size 1M
CONF
vmotion check-config --config /tmp/good.conf > /tmp/out
grep -q "^/tmp/good.conf: 3 migration(s), valid$" /tmp/out || fail "$(cat /tmp/out)"
grep -q "^/tmp/good.conf: db -> disk serial=S64DNX0R123456 --rate 200M$" /tmp/out || fail "$(cat /tmp/out)"

cat > /tmp/bad.conf <<'CONF'
db serial=a
db serial=b
x nope
y kind=1
z serial=c --rate
w serial=d --bogus
v serial=a
u serial=e --region-size 3K
t/x serial=f
CONF
rc=0
vmotion check-config --config /tmp/bad.conf > /tmp/out 2>&1 || rc=$?
expect_eq "exit of check-config on a bad file" 1 $rc
for msg in "/tmp/bad.conf:2: db already has a migration on line 1" \
	"/tmp/bad.conf:3: x: expected a disk identity" \
	"/tmp/bad.conf:4: unknown disk identity 'kind'" \
	"/tmp/bad.conf:5: --rate needs a size such as 200M, not ''" \
	"/tmp/bad.conf:6: unknown option '--bogus'" \
	"/tmp/bad.conf:7: disk serial=a is already the destination on line 1" \
	"/tmp/bad.conf:8: invalid region size '3K'" \
	"/tmp/bad.conf:9: invalid device-mapper name 't/x'"; do
	grep -qF "$msg" /tmp/out || fail "missing '$msg' in: $(cat /tmp/out)"
done
rc=0
vmotion check-config --config /nonexistent > /tmp/out 2>&1 || rc=$?
expect_eq "exit for a missing file" 1 $rc
grep -q "/nonexistent: No such file or directory" /tmp/out || fail "$(cat /tmp/out)"

# udev-match: by serial, wwn, by-id; nothing for others; exit 0 even on a bad file
m() { env -i PATH="$PATH" "$@" vmotion udev-match --config /tmp/good.conf; }
expect_eq "serial match" "VMOTION_DM=db
VMOTION_UNIT=vmotion-migrate@db.service" "$(m ID_SERIAL_SHORT=S64DNX0R123456)"
expect_eq "wwn match" "VMOTION_DM=logs
VMOTION_UNIT=vmotion-migrate@logs.service" "$(m ID_WWN=0x5000c500a1b2c3d4)"
expect_eq "by-id match" "VMOTION_DM=web
VMOTION_UNIT=vmotion-migrate@web.service" "$(m DEVLINKS='/dev/disk/by-path/pci-0 /dev/disk/by-id/nvme-eui.0025388b21b2c3d4')"
expect_eq "by-id prefix is no match" "" "$(m DEVLINKS='/dev/disk/by-id/nvme-eui.0025388b21b2c3d4-part1')"
expect_eq "no match" "" "$(m ID_SERIAL=other)"
env -i PATH="$PATH" ID_SERIAL=a vmotion udev-match --config /tmp/bad.conf > /tmp/out 2>/dev/null || fail "udev-match failed on a bad config"
expect_eq "no match from a bad config" "" "$(cat /tmp/out)"
