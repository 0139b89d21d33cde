#!/bin/bash
# Rig smoke test: dm-mod loads; a linear device on vda carries bytes intact.
. "$(dirname "$0")/../lib.sh"

modprobe dm-mod
wipe /dev/vda
dmsetup create smoke --table "0 65536 linear /dev/vda 2048"
[ -b /dev/mapper/smoke ] || fail "/dev/mapper/smoke was not created"
fill /dev/mapper/smoke 0 65536 7
# The linear device maps vda sector 2048 onwards: compare through both.
same_range /dev/mapper/smoke 0 /dev/vda 2048 65536
# and the data is what was written: a second fill with the same seed to a
# scratch disk gives the same checksum
fill /dev/vdb 0 65536 7
same_range /dev/mapper/smoke 0 /dev/vdb 0 65536
dmsetup remove smoke
[ ! -e /dev/mapper/smoke ] || fail "/dev/mapper/smoke still there after remove"
