#!/bin/bash
# The demo: a live migration of a mounted ext4 filesystem under a verified
# fio load, from vda to vdb, with the progress bar and the switch pause.
. "$(dirname "$0")/lib.sh"
load_vmotion
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

len=$((512 * 2048))
say "a 512 MiB volume 'db' on /dev/vda (linear), with ext4 mounted on /mnt/db"
wipe /dev/vda /dev/vdb
dmsetup create db --table "0 $len linear /dev/vda 2048"
dmsetup table db
mkfs.ext4 -q -F /dev/mapper/db
mkdir -p /mnt/db
mount /dev/mapper/db /mnt/db

say "the application: fio random read/write with crc32c verification, running throughout"
fio_loop_start app /mnt/db/app.dat 96M 4k
sleep 3

say "vmotion migrate --rate 24M db /dev/vdb"
script -qfec "vmotion migrate --rate 24M db /dev/vdb" /dev/null
rc=$?
say "afterwards"
echo "vmotion exit status: $rc"
dmsetup table db
findmnt /mnt/db
sleep 2
fio_loop_stop app
umount /mnt/db
e2fsck -fn /dev/mapper/db > /dev/null && echo "e2fsck: clean"
dmsetup remove db
[ $rc -eq 0 ]
