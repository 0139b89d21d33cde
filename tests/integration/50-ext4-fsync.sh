#!/bin/bash
# ext4 on the vmotion device with fsync'd files written during the copy: e2fsck clean on the destination, every checksum matches.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((256 * 2048))
wipe $SRC $DST
dmsetup create fs --table "0 $len linear $SRC $SRC_OFF"
mkfs.ext4 -q -F /dev/mapper/fs
mkdir -p /mnt/fs
mount /dev/mapper/fs /mnt/fs
# some data before the migration starts
for i in $(seq 1 20); do
	head -c $((RANDOM * 8)) /dev/urandom > /mnt/fs/before-$i
done
sync
dmsetup reload fs --table "0 $len vmotion $SRC $SRC_OFF $DST $DST_OFF 256 2 rate 8192"
dmsetup resume fs
i=0
while [ "$(vm_state fs)" = copying ] && [ $i -lt 400 ]; do
	i=$((i + 1))
	dd if=/dev/urandom of=/mnt/fs/f-$i bs=4k count=$((1 + RANDOM % 64)) conv=fsync status=none
	[ $((i % 10)) -eq 0 ] && rm -f /mnt/fs/f-$((i - 5))
done
log "$i files written during the copy: $(vm_status fs)"
[ $i -ge 10 ] || fail "the copy ended before the files were written ($i)"
dmsetup message fs 0 rate 0
wait_state fs synced 300
(cd /mnt/fs && md5sum before-* f-*) > /tmp/sums
umount /mnt/fs

same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup create destview --readonly --table "0 $len linear $DST $DST_OFF"
e2fsck -fn /dev/mapper/destview || fail "e2fsck found errors on the destination"
mount -o ro,noload /dev/mapper/destview /mnt/fs
(cd /mnt/fs && md5sum -c --quiet /tmp/sums) || fail "file checksums differ on the destination"
umount /mnt/fs
dmsetup remove destview
dmsetup remove fs
