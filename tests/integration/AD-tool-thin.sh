#!/bin/bash
# vmotion migrate onto a dm-thin volume skips zeroes by default with dest_zeroed (a used volume is discarded first and ends up holding only the data): an ext4 filesystem in use moves with its files intact, fsck clean and the pool mapping at most 1.1x the blocks that hold data; --no-skip-zeroes writes every block; a pool with skip_block_zeroing gets zeroes written; --dest-is-zero is checked (a thin volume with blocks mapped, a disk with data in a sampled place are refused, naming the count or sector) unless --force; --skip-zeroes with --no-skip-zeroes is a usage error.
. "$(dirname "$0")/../lib.sh"
load_vmotion
modprobe dm-thin-pool

len=$((512 * 2048))
blk=$THIN_BLOCK
wipe /dev/vda /dev/vdb /dev/vdc
thin_pool pool /dev/vdc
# room past the migrated range for the metadata
thin_volume pool 0 thin $((len + 8192))
dmsetup create tm --table "0 $len linear /dev/vda 0"
table0=$(dmsetup table tm)

log "refusals"
vmotion_refused tm "$table0" 2 "--skip-zeroes and --no-skip-zeroes: one or the other" \
	migrate --skip-zeroes --no-skip-zeroes tm /dev/mapper/thin
thin_volume pool 1 used $((len + 8192))
dd if=/dev/urandom of=/dev/mapper/used bs=64k count=3 oflag=direct status=none
vmotion_refused tm "$table0" 1 "is a thin volume with 384 sectors mapped, not all zeroes" \
	migrate --dest-is-zero tm /dev/mapper/used
printf 'x' | dd of=/dev/vdb bs=512 seek=100 oflag=direct conv=sync status=none
vmotion_refused tm "$table0" 1 "--dest-is-zero: /dev/vdb has data at sector 100" \
	migrate --dest-is-zero tm /dev/vdb
# far from the ends: one of the 64 samples
wipe /dev/vdb
sample=$((len * 512 / 65 * 7 / 4096 * 8 + 3))
printf 'y' | dd of=/dev/vdb bs=512 seek=$sample oflag=direct conv=sync status=none
vmotion_refused tm "$table0" 1 "--dest-is-zero: /dev/vdb has data at sector $sample" \
	migrate --dest-is-zero tm /dev/vdb

log "--dest-is-zero --force, --dest-is-zero on a zeroed disk, --no-skip-zeroes on thin"
vmotion migrate --no-switch --no-metadata --dest-is-zero --force tm /dev/vdb > /tmp/o 2>&1 ||
	{ cat /tmp/o; fail "--dest-is-zero --force"; }
grep -q "/dev/vdb has data at sector $sample; taking it as reading zeroes all the same (--force)" /tmp/o ||
	fail "no --force line: $(cat /tmp/o)"
grep -q "zeroes skipped: the destination reads as zeroes" /tmp/o || fail "--force: $(cat /tmp/o)"
vmotion abort tm > /dev/null
wipe /dev/vdb
vmotion migrate --no-switch --no-metadata --dest-is-zero tm /dev/vdb > /tmp/o 2>&1 ||
	{ cat /tmp/o; fail "--dest-is-zero on a zeroed disk"; }
grep -q "zeroes skipped: the destination reads as zeroes" /tmp/o || fail "no zeroes line: $(cat /tmp/o)"
vmotion abort tm > /dev/null
vmotion migrate --no-switch --no-metadata --no-skip-zeroes tm /dev/mapper/used > /tmp/o 2>&1 ||
	{ cat /tmp/o; fail "--no-skip-zeroes"; }
! dmsetup table tm | matches "zero" || fail "--no-skip-zeroes: table $(dmsetup table tm)"
vmotion abort tm > /dev/null
log "a used thin volume: discarded first, then dest_zeroed"
fill /dev/vda $((len / 2)) 4096 31
dd if=/dev/urandom of=/dev/mapper/used bs=1M count=64 oflag=direct status=none
vmotion migrate --no-switch --no-metadata tm /dev/mapper/used > /tmp/o 2>&1 || { cat /tmp/o; fail "onto used"; }
grep -q "discarded the old data on the thin volume /dev/mapper/used" /tmp/o || fail "no discard line: $(cat /tmp/o)"
grep -q "zeroes skipped: the destination reads as zeroes" /tmp/o || fail "used: $(cat /tmp/o)"
same_range /dev/vda 0 /dev/mapper/used 0 $len
used=$(dmsetup status used | cut -d' ' -f4)
expect_eq "sectors the used volume maps: the data's" 4096 "$used"
vmotion abort tm > /dev/null
dmsetup remove used
dmsetup message pool 0 "delete 1"
wipe /dev/vda

log "a pool with skip_block_zeroing: zeroes written as data"
ptable="0 $(dmsetup table pool | cut -d' ' -f2) thin-pool /dev/mapper/pool-meta /dev/mapper/pool-data 128 0"
dmsetup reload pool --table "$ptable 1 skip_block_zeroing"
dmsetup suspend pool
dmsetup resume pool
vmotion migrate --no-switch --no-metadata tm /dev/mapper/thin > /tmp/o 2>&1 || { cat /tmp/o; fail "onto a pool without zeroing"; }
grep -q "the thin volume /dev/mapper/thin is in a pool with skip_block_zeroing" /tmp/o || fail "no zeroing line: $(cat /tmp/o)"
! dmsetup table tm | matches "zero" || fail "no zeroing: table $(dmsetup table tm)"
vmotion abort tm > /dev/null
vmotion_refused tm "$table0" 1 "--dest-is-zero: the thin volume /dev/mapper/thin is in a pool with skip_block_zeroing" \
	migrate --dest-is-zero tm /dev/mapper/thin
dmsetup reload pool --table "$ptable"
dmsetup suspend pool
dmsetup resume pool
# the aborted migrations wrote the volume: a new one for the filesystem
dmsetup remove thin
dmsetup message pool 0 "delete 0"
thin_volume pool 0 thin $((len + 8192))

vmotion_refused tm "$table0" 2 "--skip-zeroes and --no-skip-zeroes: one or the other" \
	migrate --no-skip-zeroes --skip-zeroes tm /dev/mapper/thin

log "ext4 in use onto a new thin volume, default settings"
mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=1 /dev/mapper/tm
mkdir -p /mnt/t
mount /dev/mapper/tm /mnt/t
for i in $(seq 1 12); do
	openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:thin-$i" -in /dev/zero 2>/dev/null |
		head -c $((i * 1048576)) > /mnt/t/f$i || true
done
sync
(cd /mnt/t && sha256sum f*) > /tmp/sums
fio_verify thinfs /mnt/t/fio 24M 4k --runtime=20 --time_based &
fio_pid=$!
sleep 2
vmotion migrate tm /dev/mapper/thin > /tmp/o 2>&1 || { cat /tmp/o; fail "migrate onto thin"; }
grep -q "zeroes skipped: the destination reads as zeroes" /tmp/o || fail "no zeroes line: $(cat /tmp/o)"
grep -q "^skip_zeroes=1$" /var/lib/vmotion/tm.state || fail "record: $(cat /var/lib/vmotion/tm.state)"
wait $fio_pid || fail "fio on the filesystem"
fio_ok thinfs
expect_eq "table after the switch" "0 $len linear $(majmin /dev/mapper/thin) 0" "$(dmsetup table tm)"
(cd /mnt/t && sha256sum -c --quiet /tmp/sums) || fail "files changed"
umount /mnt/t
fsck.ext4 -fn /dev/mapper/tm > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "fsck after the move"; }
nz=$(nonzero_blocks /dev/mapper/thin 0 $((len + 8192)) $blk)
used=$(thin_pool_used pool)
log "pool maps $used blocks; the volume has $nz blocks with data"
[ $((used * 10)) -le $((11 * nz)) ] || fail "the pool maps $used blocks for $nz blocks of data (over 1.1x)"
[ "$nz" -ge $((78 * 1048576 / 65536)) ] || fail "only $nz blocks of data: the files are not there"
dmsetup remove tm
dmsetup remove thin

log "migrate again after a crash onto a used thin volume: resumed, not discarded"
# vda holds the filesystem: the source of a new device, migrated with
# metadata at the thin volume's end, in sync; then the device is rebuilt
# linear on its source, as a boot would, and migrate is run again: it
# resumes from the metadata (every region recorded in sync, nothing
# copied), so the volume's data must stay
thin_volume pool 5 rt $((len + 8192))
dmsetup create tr --table "0 $len linear /dev/vda 0"
vmotion migrate --no-switch tr /dev/mapper/rt > /tmp/o 2>&1 || { cat /tmp/o; fail "migrate tr"; }
dmsetup reload tr --table "0 $len linear /dev/vda 0"
dmsetup resume tr
# --force: the volume carries the filesystem's signature now
vmotion migrate --force tr /dev/mapper/rt > /tmp/o 2>&1 || { cat /tmp/o; fail "migrate tr again"; }
grep -q "segment 0 resumes migration" /tmp/o || fail "not resumed: $(cat /tmp/o)"
! grep -q "discarded" /tmp/o || fail "discarded a resumed migration's destination: $(cat /tmp/o)"
expect_eq "table after the switch" "0 $len linear $(majmin /dev/mapper/rt) 0" "$(dmsetup table tr)"
same_range /dev/vda 0 /dev/mapper/rt 0 $len
dmsetup remove tr
dmsetup remove rt
thin_pool_check pool
