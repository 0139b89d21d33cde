#!/bin/bash
# ext4 stays mounted with fsync'd files written throughout vmotion migrate + switch; e2fsck clean, checksums match.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((256 * 2048))
wipe $SRC $DST
dmsetup create fs --table "0 $len linear $SRC $SRC_OFF"
mkfs.ext4 -q -F /dev/mapper/fs
mkdir -p /mnt/fs
mount /dev/mapper/fs /mnt/fs
rm -f /tmp/stop-writer
(
	i=0
	while [ ! -e /tmp/stop-writer ]; do
		i=$((i + 1))
		dd if=/dev/urandom of=/mnt/fs/f-$i bs=4k count=$((1 + RANDOM % 32)) conv=fsync status=none
		[ $((i % 8)) -eq 0 ] && rm -f /mnt/fs/f-$((i - 4))
	done
	echo $i > /tmp/writer-count
) &
writer=$!
sleep 1
vmotion migrate --rate 16M fs $DST > /tmp/migrate.out 2>&1 || { cat /tmp/migrate.out; fail "migrate failed"; }
sleep 1
touch /tmp/stop-writer
wait $writer
log "$(cat /tmp/writer-count) files written; $(grep -o 'paused for .*' /tmp/migrate.out)"
mountpoint -q /mnt/fs || fail "the filesystem was unmounted"
expect_eq table "0 $len linear $(majmin $DST) $((0))" "$(dmsetup table fs)"
(cd /mnt/fs && md5sum f-*) > /tmp/sums
sync
echo 3 > /proc/sys/vm/drop_caches
(cd /mnt/fs && md5sum -c --quiet /tmp/sums) || fail "checksums differ after dropping caches"
umount /mnt/fs
e2fsck -fn /dev/mapper/fs || fail "e2fsck found errors"
mount -o ro /dev/mapper/fs /mnt/fs
(cd /mnt/fs && md5sum -c --quiet /tmp/sums) || fail "checksums differ after remount"
umount /mnt/fs
dmsetup remove fs
