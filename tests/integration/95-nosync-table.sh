#!/bin/bash
# nosync starts in sync with nothing copied; dmsetup table round-trips the constructor line.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((32 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 23
fill $DST $DST_OFF $len 23
va=$(cat /sys/block/vda/dev) vb=$(cat /sys/block/vdb/dev)

start_migration ns $len 1024 nosync
# synced once the destination has been flushed, with nothing copied
wait_state ns synced 60
expect_eq status "64/64 1024 synced 0 0 0 0 0 - - 0 0 0 0 mirror mirror 0 1 - - -" "$(vm_status ns)"
expect_eq table "0 $len vmotion $va $SRC_OFF $vb $DST_OFF 1024 1 nosync" "$(dmsetup table ns)"
# mirrored from the start
fio_verify ns /dev/mapper/ns 32M 4k
fio_ok ns
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup remove ns

# round trips: what dmsetup table prints loads back to the same line
for feats in "" " 2 rate 100" " 3 rate 0 no_discard_passdown" " 4 rate 7 nosync no_discard_passdown" \
	" 2 on_error fail" " 3 nosync on_error pause" " 6 rate 4294967295 nosync no_discard_passdown on_error fail" \
	" 1 skip_zeroes" " 3 rate 9 skip_zeroes" " 2 mode mirror" " 2 mode track" \
	" 5 rate 9 skip_zeroes mode auto"; do
	line="0 $len vmotion $va $SRC_OFF $vb $DST_OFF 16$feats"
	dmsetup create rt --table "$line"
	expect_eq "table of '$line'" "$line" "$(dmsetup table rt)"
	dmsetup create rt2 --table "$(dmsetup table rt)"
	expect_eq "table reloaded from table output" "$line" "$(dmsetup table rt2)"
	dmsetup remove rt2
	dmsetup remove rt
done
# device paths are printed as major:minor
dmsetup create rt --table "0 $len vmotion /dev/vda $SRC_OFF /dev/vdb $DST_OFF 16 1 NOSYNC"
expect_eq "table with paths" "0 $len vmotion $va $SRC_OFF $vb $DST_OFF 16 1 nosync" "$(dmsetup table rt)"
dmsetup remove rt
