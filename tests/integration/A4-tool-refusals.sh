#!/bin/bash
# vmotion refuses unsafe or bad requests with exit 1 or 2 and a message naming the value; the table is unchanged.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((16 * 2048))
wipe /dev/vda /dev/vdb /dev/vdc /dev/vdd
dmsetup create r --table "0 $len linear /dev/vda 2048"
orig=$(dmsetup table r)

# refused EXIT MESSAGE ARGS...: vmotion exits EXIT, says MESSAGE, changes nothing
refused() {
	vmotion_refused r "$orig" "$@"
}

# too small: a 1 MiB view of vdb
dmsetup create small --table "0 2048 linear /dev/vdb 0"
refused 1 "the destination is too small: 1048576 bytes, r needs 16777216" migrate r /dev/mapper/small
dmsetup remove small

# an ext4 signature
mkfs.ext4 -q -F /dev/vdc 64M
refused 1 "/dev/vdc: the destination carries an ext4 signature; refusing to overwrite it (--force to override)" migrate r /dev/vdc
expect_eq "ext4 still there" ext4 "$(blkid -o value -s TYPE /dev/vdc)"

# a partition table
printf 'label: gpt\n,10M\n' | sfdisk -q /dev/vdd >/dev/null 2>&1 || fail "sfdisk"
refused 1 "carries a gpt signature" migrate r /dev/vdd
blockdev --rereadpt /dev/vdd 2>/dev/null || true
wipe /dev/vdd

# in use: mounted
mkdir -p /mnt/inuse
mount /dev/vdc /mnt/inuse
refused 1 "/dev/vdc: the destination is in use" migrate --force r /dev/vdc
umount /mnt/inuse
# in use: held by another dm device
dmsetup create holder --table "0 2048 linear /dev/vdd 0"
refused 1 "/dev/vdd: the destination is in use" migrate r /dev/vdd
dmsetup remove holder

refused 1 "/dev/vda: the destination is the source" migrate r /dev/vda
refused 1 "the destination is the device being migrated" migrate r /dev/mapper/r
refused 1 "nosuch: no such device-mapper device" migrate nosuch /dev/vdb
refused 1 "/dev/nosuch: No such file or directory" migrate r /dev/nosuch
refused 1 "/dev/null: not a block device" migrate r /dev/null
refused 2 "invalid rate 'fast'" migrate --rate fast r /dev/vdb
refused 2 "invalid rate '-1'" migrate --rate -1 r /dev/vdb
refused 2 "invalid region size '3K'" migrate --region-size 3K r /dev/vdb
refused 2 "invalid region size '2K'" migrate --region-size 2K r /dev/vdb
refused 2 "invalid region size '12Q'" migrate --region-size 12Q r /dev/vdb
refused 2 "usage:" migrate r
refused 2 "usage:" migrate --bogus r /dev/vdb
refused 2 "unknown command 'frob'" frob r
refused 1 "r: not migrating (table is not vmotion)" switch r
refused 1 "r: not migrating (table is not vmotion)" pause r
refused 1 "r: not migrating (table is not vmotion)" abort r
refused 2 "invalid rate '10X'" rate r 10X

# a table that is not linear
dmsetup create z --table "0 2048 zero"
rc=0
vmotion migrate z /dev/vdb > /tmp/out 2>&1 || rc=$?
expect_eq "exit of migrate on a zero table" 1 $rc
grep -qF "z: segment 0 (sector 0) is 'zero': only linear tables can be migrated" /tmp/out || fail "$(cat /tmp/out)"
expect_eq "zero table unchanged" "0 2048 zero" "$(dmsetup table z | sed "s/ *$//")"
dmsetup remove z

# --force overrides a signature (and nothing else)
rc=0
vmotion migrate --force --no-switch r /dev/vdc > /tmp/out 2>&1 || rc=$?
expect_eq "exit of a forced migrate" 0 $rc
grep -q "overwriting an ext4 signature" /tmp/out || fail "$(cat /tmp/out)"
vmotion abort r
expect_eq "table after forced migrate + abort" "$orig" "$(dmsetup table r)"
dmsetup remove r
