#!/bin/bash
# make bench on real disks (SRC=, DST=): refuses a device it would destroy or cannot use, naming it, before writing a byte; with BENCH_DESTROY_DATA=yes the smoke run (its idle migrations) goes end to end.
. "$(dirname "$0")/../lib.sh"
load_vmotion

wipe /dev/vda /dev/vdb /dev/vdc /dev/vdd
fill /dev/vda 0 $((16 * 2048)) 7
mkfs.ext4 -q -F /dev/vdc 64M
printf 'label: gpt\n,10M\n' | sfdisk -q /dev/vdd >/dev/null 2>&1 || fail "sfdisk"
blockdev --rereadpt /dev/vdd 2>/dev/null || true
out=/tmp/bench-rig

# what a refusal must leave alone: the first 16 MiB of every disk (where
# a run writes first: its fill, its wipe, LVM's labels; the signatures)
sums() {
	local d
	for d in /dev/vda /dev/vdb /dev/vdc /dev/vdd; do
		sum_range "$d" 0 $((16 * 2048))
	done
}
before=$(sums)

# rig ENV...: the smoke benchmark as on a real rig (not the guest's
# throwaway disks), output in /tmp/rig.out; returns its exit status
rig() {
	rm -rf "$out"
	env -u VM_GUEST OUT="$out" "$@" "$REPO/tools/bench/run" --smoke > /tmp/rig.out 2>&1
}

# refused MESSAGE ENV...: exit 1, MESSAGE said, no disk changed
refused() {
	local msg=$1 rc=0 dms
	shift
	dms=$(dmsetup ls)
	rig "$@" || rc=$?
	[ "$rc" = 1 ] || fail "with $*: exit status $rc, not 1: $(cat /tmp/rig.out)"
	grep -qF -- "$msg" /tmp/rig.out || fail "with $*: expected '$msg', got: $(cat /tmp/rig.out)"
	[ "$(sums)" = "$before" ] || fail "with $*: a disk changed"
	[ "$(dmsetup ls)" = "$dms" ] || fail "with $*: device-mapper devices now: $(dmsetup ls)"
}

refused "/dev/vdc carries a signature (ext4); every byte of /dev/vda and /dev/vdc is overwritten: set BENCH_DESTROY_DATA=yes to go on" \
	SRC=/dev/vda DST=/dev/vdc
refused "/dev/vdd carries a signature (partition table gpt)" SRC=/dev/vdd DST=/dev/vdb
# two signatures at once (blkid -p: ambivalent, exit status 8) are not "none"
ambivalent /dev/vdc
before=$(sums)
refused "/dev/vdc carries a signature (several signatures (blkid: ambivalent))" SRC=/dev/vda DST=/dev/vdc
mkfs.ext4 -q -F /dev/vdc 64M
before=$(sums)
refused "SRC and DST are the same device (/dev/vda, /dev/vda)" \
	SRC=/dev/vda DST=/dev/vda BENCH_DESTROY_DATA=yes
refused "/dev/nosuch: not a block device" SRC=/dev/vda DST=/dev/nosuch BENCH_DESTROY_DATA=yes
refused "set both SRC and DST" SRC=/dev/vda

# mounted read-only, so that the mount itself writes nothing
mkdir -p /mnt/rig
mount -o ro /dev/vdc /mnt/rig
before=$(sums)
refused "/dev/vdc: in use (mounted, swap, or held by device-mapper, md or LVM)" \
	SRC=/dev/vda DST=/dev/vdc BENCH_DESTROY_DATA=yes
umount /mnt/rig

# held by a device-mapper device; and a device too small for SIZE
dmsetup create small --table "0 $((36 * 2048)) linear /dev/vdb 0"
refused "/dev/vdb: in use" SRC=/dev/vda DST=/dev/vdb BENCH_DESTROY_DATA=yes
rc=0
rig SRC=/dev/vda DST=/dev/mapper/small BENCH_DESTROY_DATA=yes || rc=$?
expect_eq "exit status with a small DST" 1 "$rc"
grep -qF "/dev/mapper/small: 37748736 bytes; SIZE=32 needs 41943040 (32 MiB and 8 MiB for LVM's metadata)" /tmp/rig.out ||
	fail "small DST: $(cat /tmp/rig.out)"
dmsetup remove small
[ "$(sums)" = "$before" ] || fail "a disk changed after the refusals"
expect_eq "ext4 on /dev/vdc" ext4 "$(blkid -p -o value -s TYPE /dev/vdc)"
e2fsck -n -f /dev/vdc > /dev/null 2>&1 || fail "ext4 on /dev/vdc damaged"

# with the confirmation, the smoke run on the disk that had ext4: the
# idle migrations of vmotion, dm-mirror and pvmove, the report; the same
# bench.sh under load and in every section runs in make check's bench
# smoke, in the guest's rig
rig SRC=/dev/vda DST=/dev/vdc BENCH_DESTROY_DATA=yes LOADS= SHARES= MD_LOADS= THIN_RUNS= SLOW_MODES= TARGETS= ||
	{ cat /tmp/rig.out >&2; fail "rig run failed"; }
sections='^## (The copier.s latency target|The copier.s share|Metadata|Thin destination|Slow destination)'
grep -qE "$sections" "$out/bench-results.md" &&
	fail "a section turned off ran: $(grep -E "$sections" "$out/bench-results.md")"
grep -q "bench smoke: report complete" /tmp/rig.out || fail "rig run: $(cat /tmp/rig.out)"
grep "^bench: \[" /tmp/rig.out
grep -q "^- machine: .*(QEMU TCG guest" "$out/bench-results.md" &&
	fail "a rig run's report calls its disks the guest's"
[ -z "$(dmsetup ls | grep -v '^No devices found')" ] || fail "devices left: $(dmsetup ls)"
echo "bench rig: refusals checked, smoke run complete"
