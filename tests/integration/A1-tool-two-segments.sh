#!/bin/bash
# A two-segment linear table migrates to one destination with the segments laid end to end, byte for byte.
. "$(dirname "$0")/../lib.sh"
load_vmotion

seg=$((32 * 2048))
wipe /dev/vda /dev/vdb /dev/vdc
fill /dev/vda 2048 $seg 41
fill /dev/vdc 8192 $seg 43
dmsetup create two --table "0 $seg linear /dev/vda 2048
$seg $seg linear /dev/vdc 8192"
before=$(sum_range /dev/mapper/two 0 $((2 * seg)))
vmotion migrate --no-switch two /dev/vdb
expect_eq state synced "$(vmotion status two | cut -d' ' -f2)"
same_range /dev/vda 2048 /dev/vdb 0 $seg
same_range /dev/vdc 8192 /dev/vdb $seg $seg
vmotion switch two
d=$(majmin /dev/vdb)
expect_eq table "0 $seg linear $d 0
$seg $seg linear $d $seg" "$(dmsetup table two)"
expect_eq "data through the device" "$before" "$(sum_range /dev/mapper/two 0 $((2 * seg)))"
dmsetup remove two
