#!/bin/bash
# Malformed vmotion table lines are each refused with EINVAL and a specific message; nothing is left behind.
. "$(dirname "$0")/../lib.sh"
load_vmotion
wipe /dev/vda
fill /dev/vda 0 2048 29
before=$(sum_range /dev/vda 0 2048)

big=$(( $(sectors /dev/vdb) ))
n=0
# bad LINE MESSAGE: the table is refused, the kernel says MESSAGE
bad() {
	local line=$1 msg=$2 out
	n=$((n + 1))
	dmesg -C
	if out=$(dmsetup create bad$n --table "$line" 2>&1); then
		fail "accepted: '$line'"
	fi
	dmesg | matches -F "vmotion: $msg (-EINVAL)" ||
		fail "'$line': expected 'vmotion: $msg (-EINVAL)', kernel said: $(dmesg | grep -i vmotion | tail -2)"
	echo "$out" | matches "Invalid argument" || fail "'$line': not EINVAL: $out"
	! dmsetup info bad$n >/dev/null 2>&1 || fail "'$line' left device bad$n behind"
}

bad "0 1024 vmotion" "Not enough arguments (5 required)"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0" "Not enough arguments (5 required)"
bad "0 1024 vmotion /dev/vda x /dev/vdb 0 8" "Invalid source offset"
bad "0 1024 vmotion /dev/vda -1 /dev/vdb 0 8" "Invalid source offset"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 12y 8" "Invalid destination offset"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 12" "Region size is not a power of 2"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 4" "Region size is smaller than 8 sectors"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 4194304" "Region size is larger than 2097152 sectors"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 abc" "Invalid region size"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 0" "Region size is not a power of 2"
bad "0 1024 vmotion /dev/nonexistent 0 /dev/vdb 0 8" "Error opening source device"
bad "0 1024 vmotion /dev/vda 0 /dev/nonexistent 0 8" "Error opening destination device"
bad "0 1024 vmotion /dev/vda 0 /dev/vda 2048 8" "Source and destination are the same device"
bad "0 1024 vmotion /dev/vda $big /dev/vdb 0 8" "Source device is too small for offset + length"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb $((big - 1000)) 8" "Destination device is too small for offset + length"
bad "0 $((big + 8)) vmotion /dev/vda 0 /dev/vdb 0 8" "Source device is too small for offset + length"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 1 bogus" "Unknown feature argument"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 1 rate" "Feature argument 'rate' needs a value"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 2 rate fast" "Invalid rate (KiB/s expected)"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 2 rate -5" "Invalid rate (KiB/s expected)"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 4 rate 1 rate 2" "Duplicate feature argument 'rate'"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 2 nosync nosync" "Duplicate feature argument 'nosync'"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 2 no_discard_passdown no_discard_passdown" "Duplicate feature argument 'no_discard_passdown'"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 2 mode fast" "Invalid mode (mirror, track or auto expected)"
dmesg | matches "invalid mode 'fast'" || fail "the mode at fault is not named: $(dmesg | tail -3)"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 1 mode" "Feature argument 'mode' needs a value"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 4 mode track mode auto" "Duplicate feature argument 'mode'"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 2 skip_zeroes skip_zeroes" "Duplicate feature argument 'skip_zeroes'"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 3 nosync" "Invalid number of feature arguments"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 17 a b c d e f g h i j k l m n o p q" "Invalid number of feature arguments"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 1 on_error" "Feature argument 'on_error' needs a value"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 2 on_error retry" "Invalid on_error policy (fail or pause expected)"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 4 on_error fail on_error pause" "Duplicate feature argument 'on_error'"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 3 dest_zeroed skip_zeroes dest_zeroed" "Duplicate feature argument 'dest_zeroed'"
# a destination with 4 KiB logical blocks under a 512-byte source
modprobe loop
loop=$(losetup -b 4096 -f --show /dev/vdc)
bad "0 1024 vmotion /dev/vda 0 $loop 0 8" "Destination logical block size is larger than the source's"
dmesg | matches "destination logical block size 4096 is larger than the source's 512" ||
	fail "no log line with the two block sizes"
# the other way round is fine: a 512-byte destination takes 4 KiB writes
dmsetup create lbs --table "0 1024 vmotion $loop 0 /dev/vdb 0 8"
expect_eq "logical block size of the device" 4096 "$(blockdev --getss /dev/mapper/lbs)"
dmsetup remove lbs
losetup -d "$loop"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 x" "Invalid number of feature arguments"
bad "0 1024 vmotion /dev/vda 0 /dev/vdb 0 8 1 nosync extra" "Unexpected argument after the feature arguments"
log "$n bad lines refused"
[ $n -ge 20 ] || fail "only $n cases"

# the source disk was never written
expect_eq "vda untouched" "$before" "$(sum_range /dev/vda 0 2048)"
rmmod dm_vmotion
