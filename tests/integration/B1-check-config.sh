#!/bin/bash
# vmotion check-config accepts a valid config and names file, line and value for every mistake, refuses a file root does not own or others may write, takes --config=FILE; udev-match matches serial= on ID_SERIAL only and never fails the rule.
. "$(dirname "$0")/../lib.sh"
umask 022	# the configs below are root's, 0644, unless a check says otherwise

# expect_out WHAT FILE MESSAGE...: every MESSAGE (fixed strings) is in FILE
expect_out() {
	local what=$1 file=$2 msg
	shift 2
	for msg in "$@"; do
		grep -qF -- "$msg" "$file" || fail "$what: missing '$msg' in: $(cat "$file")"
	done
}
# check_config EXPECTED_EXIT ARGS...: run it, output (both streams) in /tmp/out
check_config() {
	local want=$1 rc=0
	shift
	vmotion check-config "$@" > /tmp/out 2>&1 || rc=$?
	expect_eq "exit of check-config $*" "$want" $rc
}

cat > /tmp/good.conf <<'CONF'
# comment
db    serial=Samsung_SSD_980_PRO_1TB_S64DNX0R123456   --rate 200M   # trailing comment
logs  wwn=0x5000c500a1b2c3d4 --no-switch
web   by-id=nvme-eui.0025388b21b2c3d4 --region-size 1M --mode auto
	# an indented comment
hash  by-id=nvme-a#b	# '#' inside a value is part of it
CONF
vmotion check-config --config /tmp/good.conf > /tmp/out
grep -q "^/tmp/good.conf: 4 migration(s), valid$" /tmp/out || fail "$(cat /tmp/out)"
grep -q "^/tmp/good.conf: db -> disk serial=Samsung_SSD_980_PRO_1TB_S64DNX0R123456 --rate 200M$" /tmp/out || fail "$(cat /tmp/out)"
grep -q "^/tmp/good.conf: hash -> disk by-id=nvme-a#b$" /tmp/out || fail "a '#' inside a value: $(cat /tmp/out)"
grep -q "^/tmp/good.conf: web -> disk by-id=nvme-eui.0025388b21b2c3d4 --region-size 1M --mode auto$" /tmp/out || fail "--mode: $(cat /tmp/out)"

# --config=FILE is --config FILE; so is VMOTION_CONFIG
check_config 0 --config=/tmp/good.conf
grep -q "^/tmp/good.conf: 4 migration(s), valid$" /tmp/out || fail "--config=FILE: $(cat /tmp/out)"
rc=0
VMOTION_CONFIG=/tmp/good.conf vmotion check-config > /tmp/out 2>&1 || rc=$?
expect_eq "exit of check-config with VMOTION_CONFIG" 0 $rc
grep -q "^/tmp/good.conf: 4 migration(s), valid$" /tmp/out || fail "VMOTION_CONFIG: $(cat /tmp/out)"

# extra arguments are usage errors
for args in "--config /tmp/good.conf extra" "extra" "--config" "--config=" "--bogus" \
	"--config /tmp/good.conf --config=/tmp/good.conf"; do
	# shellcheck disable=SC2086 # the words are the arguments
	check_config 2 $args
	grep -q "^usage: vmotion" /tmp/out || fail "check-config $args: no usage: $(cat /tmp/out)"
	rc=0
	# shellcheck disable=SC2086
	vmotion udev-match $args > /tmp/out 2> /tmp/err || rc=$?
	expect_eq "exit of udev-match $args" 2 $rc
	grep -q "^usage: vmotion" /tmp/err || fail "udev-match $args: no usage: $(cat /tmp/err)"
	expect_eq "udev-match $args prints nothing" "" "$(cat /tmp/out)"
done

long=$(printf 'x%.0s' $(seq 300))
cat > /tmp/bad.conf <<CONF
db serial=a
db serial=b
x nope
y kind=1
z serial=c --rate
w serial=d --bogus
v serial=a
u serial=e --region-size 3K
t/x serial=f
s serial=g --rate 4096G
r serial=h --rate 4095G
q serial=$long
$long serial=i
p serial=j --rate 000000000000000000000000000000001M
o serial=k#x --rate 200M#x
n serial=l # --bogus is a comment, so are --rate and 4T
m serial=m --mode fast
l serial=n --mode
CONF
check_config 1 --config /tmp/bad.conf
expect_out "bad.conf" /tmp/out \
	"vmotion: /tmp/bad.conf:2: db already has a migration on line 1" \
	"/tmp/bad.conf:3: x: expected a disk identity" \
	"/tmp/bad.conf:4: unknown disk identity 'kind'" \
	"/tmp/bad.conf:5: --rate needs a size such as 200M, not ''" \
	"/tmp/bad.conf:6: unknown option '--bogus'" \
	"/tmp/bad.conf:7: disk serial=a is already the destination on line 1" \
	"/tmp/bad.conf:8: invalid region size '3K'" \
	"/tmp/bad.conf:9: invalid device-mapper name 't/x'" \
	"/tmp/bad.conf:10: invalid rate '4096G': e.g. 100M (MiB/s), 512K, or 0 for unlimited" \
	"/tmp/bad.conf:12: serial= value longer than 255 characters" \
	"/tmp/bad.conf:13: device-mapper name longer than 127 characters" \
	"/tmp/bad.conf:14: --rate value longer than 31 characters" \
	"/tmp/bad.conf:15: --rate needs a size such as 200M, not '200M#x'" \
	"/tmp/bad.conf:17: invalid mode 'fast': mirror, track or auto" \
	"/tmp/bad.conf:18: invalid mode '': mirror, track or auto"
# 4095G is 4293918720 KiB, within the 32 bits of KiB/s the kernel takes; line 16 is fine
! grep -qE "bad.conf:(11|16):" /tmp/out || fail "lines 11 and 16 are valid: $(cat /tmp/out)"
expect_eq "errors in bad.conf" 15 "$(grep -c "^vmotion: /tmp/bad.conf:" /tmp/out)"

# a line longer than the line buffer is one error, and the lines after it keep their numbers
{
	echo "a serial=1"
	printf 'b serial=2 --rate 1M%2000s--bogus\n' ""
	echo "c serial=3 --bogus"
	printf '# %2000s\n' ""
	echo "d serial=4 --region-size 3K"
	echo "e serial=5"
} > /tmp/long.conf
check_config 1 --config /tmp/long.conf
expect_out "long.conf" /tmp/out \
	"vmotion: /tmp/long.conf:2: line longer than 1024 characters" \
	"vmotion: /tmp/long.conf:3: unknown option '--bogus'" \
	"vmotion: /tmp/long.conf:4: line longer than 1024 characters" \
	"vmotion: /tmp/long.conf:5: invalid region size '3K'"
expect_eq "errors in long.conf" 4 "$(grep -c "^vmotion: /tmp/long.conf:" /tmp/out)"
# 1024 characters is not too long, 1025 is
printf 'a serial=1 #%1012s\nb serial=2\n' "" > /tmp/long.conf
check_config 0 --config /tmp/long.conf
printf 'a serial=1 #%1013s\nb serial=2 --bogus\n' "" > /tmp/long.conf
check_config 1 --config /tmp/long.conf
expect_eq "a line of 1025 characters" "vmotion: /tmp/long.conf:1: line longer than 1024 characters
vmotion: /tmp/long.conf:2: unknown option '--bogus' (--rate, --region-size, --mode, --no-switch)" "$(cat /tmp/out)"

check_config 1 --config /nonexistent
grep -q "/nonexistent: No such file or directory" /tmp/out || fail "$(cat /tmp/out)"

# a config root does not own, or that group or others may write, is refused
cp /tmp/good.conf /tmp/mode.conf
chmod 664 /tmp/mode.conf
check_config 1 --config /tmp/mode.conf
expect_eq "a group-writable config" "vmotion: /tmp/mode.conf: writable by group or others (mode 0664); refusing it" "$(cat /tmp/out)"
chmod 646 /tmp/mode.conf
check_config 1 --config /tmp/mode.conf
expect_eq "a world-writable config" "vmotion: /tmp/mode.conf: writable by group or others (mode 0646); refusing it" "$(cat /tmp/out)"
cp /tmp/good.conf /tmp/owner.conf
chown 1000 /tmp/owner.conf
check_config 1 --config /tmp/owner.conf
expect_eq "a config root does not own" "vmotion: /tmp/owner.conf: owned by uid 1000, not root; refusing it" "$(cat /tmp/out)"
chmod 600 /tmp/mode.conf
check_config 0 --config /tmp/mode.conf

# udev-match: by serial (ID_SERIAL), wwn, by-id; nothing for others; exit 0 even on a bad file
m() { env -i PATH="$PATH" "$@" vmotion udev-match --config /tmp/good.conf; }
expect_eq "serial match" "VMOTION_DM=db
VMOTION_UNIT=vmotion-migrate@db.service" "$(m ID_SERIAL=Samsung_SSD_980_PRO_1TB_S64DNX0R123456 ID_SERIAL_SHORT=S64DNX0R123456)"
expect_eq "wwn match" "VMOTION_DM=logs
VMOTION_UNIT=vmotion-migrate@logs.service" "$(m ID_WWN=0x5000c500a1b2c3d4)"
expect_eq "by-id match" "VMOTION_DM=web
VMOTION_UNIT=vmotion-migrate@web.service" "$(m DEVLINKS='/dev/disk/by-path/pci-0 /dev/disk/by-id/nvme-eui.0025388b21b2c3d4')"
expect_eq "by-id with a '#'" "VMOTION_DM=hash
VMOTION_UNIT=vmotion-migrate@hash.service" "$(m DEVLINKS='/dev/disk/by-id/nvme-a#b')"
expect_eq "by-id before the '#' is no match" "" "$(m DEVLINKS='/dev/disk/by-id/nvme-a')"
expect_eq "by-id prefix is no match" "" "$(m DEVLINKS='/dev/disk/by-id/nvme-eui.0025388b21b2c3d4-part1')"
expect_eq "no match" "" "$(m ID_SERIAL=other)"
expect_eq "the short serial of a disk is no match" "" "$(m ID_SERIAL_SHORT=Samsung_SSD_980_PRO_1TB_S64DNX0R123456 2>/dev/null)"

# serial= that is only a disk's ID_SERIAL_SHORT: no match, and udev's log says why
printf 'db serial=S64DNX0R123456\n' > /tmp/short.conf
s() { env -i PATH="$PATH" "$@" vmotion udev-match --config=/tmp/short.conf > /tmp/out 2> /tmp/err; }
s DEVNAME=/dev/nvme1n1 ID_SERIAL=Samsung_SSD_980_PRO_1TB_S64DNX0R123456 ID_SERIAL_SHORT=S64DNX0R123456 ||
	fail "udev-match failed on a short serial"
expect_eq "short serial: no match" "" "$(cat /tmp/out)"
expect_eq "short serial: the message" "vmotion: /tmp/short.conf:1: serial=S64DNX0R123456 is only the short serial of /dev/nvme1n1 (ID_SERIAL=Samsung_SSD_980_PRO_1TB_S64DNX0R123456): write serial=Samsung_SSD_980_PRO_1TB_S64DNX0R123456, or use wwn= or by-id=" "$(cat /tmp/err)"
s ID_SERIAL=Samsung_SSD_980_PRO_1TB_S64DNX0R123456 ID_SERIAL_SHORT=S64DNX0R123456 || fail "udev-match failed"
grep -qF "is only the short serial of this disk (ID_SERIAL=" /tmp/err || fail "no DEVNAME: $(cat /tmp/err)"
s DEVNAME=/dev/vdb ID_SERIAL=S64DNX0R123456 ID_SERIAL_SHORT=S64DNX0R123456 || fail "udev-match failed"
expect_eq "ID_SERIAL equal to the short serial matches" "VMOTION_DM=db
VMOTION_UNIT=vmotion-migrate@db.service" "$(cat /tmp/out)"
expect_eq "ID_SERIAL equal to the short serial: no message" "" "$(cat /tmp/err)"

env -i PATH="$PATH" ID_SERIAL=a vmotion udev-match --config /tmp/bad.conf > /tmp/out 2>/dev/null || fail "udev-match failed on a bad config"
expect_eq "no match from a bad config" "" "$(cat /tmp/out)"
# a refused config matches nothing, says why in udev's log, and does not fail the rule
for f in /tmp/owner.conf /tmp/mode.conf; do
	chmod 664 /tmp/mode.conf
	env -i PATH="$PATH" ID_WWN=0x5000c500a1b2c3d4 vmotion udev-match --config "$f" > /tmp/out 2> /tmp/err ||
		fail "udev-match failed on the refused $f"
	expect_eq "no match from the refused $f" "" "$(cat /tmp/out)"
	grep -qE "^vmotion: $f: (owned by uid 1000, not root|writable by group or others \(mode 0664\)); refusing it$" /tmp/err ||
		fail "udev-match on $f: $(cat /tmp/err)"
done
rm -f /tmp/good.conf /tmp/bad.conf /tmp/long.conf /tmp/mode.conf /tmp/owner.conf /tmp/short.conf /tmp/out /tmp/err
