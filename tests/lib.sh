# Helpers for integration scenarios; sourced by tests/integration/*.sh
# inside the guest.  Every scenario runs with `set -euo pipefail`; a failed
# check exits non-zero with a message naming what was wrong.
# shellcheck shell=bash
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# the tool: as built, or the sanitizer build make check passes
export PATH="${VMOTION_TOOL_DIR:-$REPO/tools/vmotion}:$PATH"
# a sanitizer report goes to /tmp/sanitizer, wherever the tool's output
# went, and run-tests fails the scenario on it (leaks are not looked for:
# the tool's libraries keep what they allocate until exit)
mkdir -p /tmp/sanitizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=1:detect_leaks=0:halt_on_error=1:exitcode=66:log_path=/tmp/sanitizer/asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=66:log_path=/tmp/sanitizer/ubsan}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# `cmd | matches PATTERN`: grep that reads all of its input.  Under pipefail
# `cmd | grep -q` fails when grep has matched and gone while cmd still
# writes (SIGPIPE: status 141), as dmesg does with a long log; the rig
# refuses `| grep -q` in tests.
matches() {
	grep "$@" > /dev/null
}

# log WORDS...: a step of the scenario, with the seconds since it started
# (where a scenario's time goes)
log() {
	echo "--- [${SECONDS}s] $*"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# Load the freshly built modules: dm-mod from the kernel's tree, then ours
# with insmod (a depmod of the whole module tree over 9p costs a TCG guest
# a hundred seconds).
load_vmotion() {
	local ko=${VMOTION_KO_DIR:-$REPO} m
	[ -e "$ko/dm-vmotion.ko" ] || fail "$ko/dm-vmotion.ko not built"
	modprobe dm-mod
	for m in dm-vmotion-bitmap dm-vmotion-metadata dm-vmotion; do
		lsmod | matches "^${m//-/_} " || insmod "$ko/$m.ko" || fail "insmod $ko/$m.ko"
	done
}

# Sectors of a block device.
sectors() {
	blockdev --getsz "$1"
}

# Discard a whole disk back to zeroes (the backing files are sparse).
wipe() {
	local d
	for d in "$@"; do
		blkdiscard -f "$d" 2>/dev/null || dd if=/dev/zero of="$d" bs=1M oflag=direct status=none 2>/dev/null || true
	done
}

# fill DEV OFFSET_SECTORS SECTORS [SEED]: deterministic pseudo-random data
# (an AES-CTR keystream of the seed), written with dd: test data must not
# depend on fio starting within its own timeout on a loaded guest.  openssl
# dies of SIGPIPE once dd has what it needs; dd's status is the one that
# counts.
fill() {
	local dev=$1 off=$2 len=$3 seed=${4:-1}
	{ openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:vmotion-$seed" \
		-in /dev/zero 2>/dev/null || true; } |
		dd of="$dev" bs=1M seek=$((off * 512)) count=$((len * 512)) \
			iflag=fullblock,count_bytes oflag=direct,seek_bytes \
			status=none || fail "fill $dev $off $len"
}

# Checksum of SECTORS sectors of DEV from OFFSET.
sum_range() {
	local dev=$1 off=$2 len=$3
	dd if="$dev" bs=1M skip=$((off * 512)) count=$((len * 512)) \
		iflag=direct,skip_bytes,count_bytes status=none | md5sum | cut -d' ' -f1
}

# same_range DEV1 OFF1 DEV2 OFF2 SECTORS: byte-compare two ranges.
same_range() {
	local a b
	a=$(sum_range "$1" "$2" "$5")
	b=$(sum_range "$3" "$4" "$5")
	[ "$a" = "$b" ] || {
		cmp -l <(dd if="$1" bs=1M skip=$(($2 * 512)) count=$(($5 * 512)) iflag=direct,skip_bytes,count_bytes status=none) \
		    <(dd if="$3" bs=1M skip=$(($4 * 512)) count=$(($5 * 512)) iflag=direct,skip_bytes,count_bytes status=none) |
			awk 'NR == 1 { first = $1 } END { printf "%d bytes differ, first at byte %d\n", NR, first - 1 }' >&2
		fail "$1+$2 and $3+$4 differ over $5 sectors"
	}
}

# status field of a vmotion device: vm_field DEV N (0-based after the
# target's "start len vmotion" prefix)
vm_status() {
	dmsetup status "$1" | cut -d' ' -f4-
}
vm_field() {
	vm_status "$1" | cut -d' ' -f$(($2 + 1))
}
vm_state() {
	vm_field "$1" 2
}

# wait_state DEV STATE [TIMEOUT]: poll until the migration reaches STATE.
wait_state() {
	local dev=$1 want=$2 t=${3:-300} i
	for ((i = 0; i < t * 10; i++)); do
		[ "$(vm_state "$dev")" = "$want" ] && return 0
		if [ "$want" != failed ] && [ "$(vm_state "$dev")" = failed ]; then
			fail "$dev failed while waiting for $want: $(vm_status "$dev")"
		fi
		sleep 0.1
	done
	fail "$dev did not reach '$want' in ${t}s: $(vm_status "$dev")"
}

# wait_synced_ge DEV N [TIMEOUT]: poll until at least N regions are in sync
wait_synced_ge() {
	local dev=$1 want=$2 t=${3:-60} i
	for ((i = 0; i < t * 10; i++)); do
		[ "$(vm_status "$dev" | cut -d/ -f1)" -ge "$want" ] && return 0
		sleep 0.1
	done
	fail "the copy did not get to $want regions in ${t}s: $(vm_status "$dev")"
}

event_nr() {
	dmsetup info -c --noheadings -o events "$1" | tr -d ' '
}

# start_migration NAME SECTORS REGION_SIZE [FEATURE ARGS...]: a linear device
# NAME on /dev/vda+2048, then a vmotion table onto /dev/vdb+4096 loaded in its
# place.  Sets MIG_EV to the event counter before the switch.
SRC=/dev/vda SRC_OFF=2048 DST=/dev/vdb DST_OFF=4096
start_migration() {
	local name=$1 len=$2 region=$3
	shift 3
	local feats=""
	[ $# -gt 0 ] && feats=" $# $*"
	dmsetup create "$name" --table "0 $len linear $SRC $SRC_OFF"
	dmsetup reload "$name" --table "0 $len vmotion $SRC $SRC_OFF $DST $DST_OFF $region$feats"
	MIG_EV=$(event_nr "$name")
	dmsetup resume "$name"
}

# fio_verify NAME DEVICE SIZE BS [extra fio args]: random writes with crc32c
# verification (backlog and final pass); output in /tmp/fio-NAME.out.
fio_verify() {
	local name=$1 dev=$2 size=$3 bs=$4
	shift 4
	fio --name="$name" --filename="$dev" --size="$size" --bs="$bs" \
		--rw=randwrite --ioengine=libaio --iodepth=16 --direct=1 \
		--verify=crc32c --verify_backlog=256 --verify_fatal=1 \
		--do_verify=1 --randseed=42 "$@" > "/tmp/fio-$name.out" 2>&1
}

# fio_ok NAME: the fio run's output shows no errors at all.
fio_ok() {
	grep -qE 'err= *0' "/tmp/fio-$1.out" || { cat "/tmp/fio-$1.out" >&2; fail "fio $1 reported errors"; }
	! grep -qiE 'verify.*(fail|bad)|crc32c: verify failed|bad magic' "/tmp/fio-$1.out" ||
		{ cat "/tmp/fio-$1.out" >&2; fail "fio $1: verify error"; }
}

# fio_loop_start NAME DEV SIZE BS: verified random-write passes over DEV, one
# after another, until fio_loop_stop; every pass must verify.
fio_loop_start() {
	local name=$1 dev=$2 size=$3 bs=$4
	rm -f "/tmp/fio-$name.stop" "/tmp/fio-$name.failed" "/tmp/fio-$name.passes"
	(
		n=0
		while [ ! -e "/tmp/fio-$name.stop" ]; do
			n=$((n + 1))
			if ! fio_verify "$name-$n" "$dev" "$size" "$bs" --randseed=$n ||
				! grep -qE 'err= *0' "/tmp/fio-$name-$n.out"; then
				echo "verified pass $n failed:" > "/tmp/fio-$name.failed"
				cat "/tmp/fio-$name-$n.out" >> "/tmp/fio-$name.failed" 2>&1
				break
			fi
			echo $n > "/tmp/fio-$name.passes"
		done
	) &
	FIO_LOOP_PID=$!
}

# fio_loop_stop NAME: finish the pass in flight; fail if any pass failed.
fio_loop_stop() {
	touch "/tmp/fio-$1.stop"
	wait "$FIO_LOOP_PID" || true
	if [ -e "/tmp/fio-$1.failed" ]; then
		cat "/tmp/fio-$1.failed" >&2
		fail "a verified fio pass failed"
	fi
	[ -s "/tmp/fio-$1.passes" ] || fail "fio completed no verified pass"
	log "fio: $(cat "/tmp/fio-$1.passes") verified passes"
}

# migrated_on_dm P LEN SEED: LEN sectors of /dev/vda, filled from SEED, under
# dm devices the test can break: ${P}s (linear on /dev/vda) and ${P}d (linear
# on /dev/vdb); ${P}m, linear on ${P}s, is migrated onto ${P}d with
# `vmotion migrate --no-switch` and left in sync.
migrated_on_dm() {
	local p=$1 len=$2 seed=$3
	wipe /dev/vda /dev/vdb
	fill /dev/vda 0 "$len" "$seed"
	dmsetup create "${p}s" --table "0 $len linear /dev/vda 0"
	dmsetup create "${p}d" --table "0 $len linear /dev/vdb 0"
	dmsetup create "${p}m" --table "0 $len linear /dev/mapper/${p}s 0"
	vmotion migrate --no-switch "${p}m" "/dev/mapper/${p}d" > "/tmp/${p}m.out" 2>&1 ||
		{ cat "/tmp/${p}m.out"; fail "migrate ${p}m"; }
}

# vmotion_refused DEV TABLE EXIT MESSAGE ARGS...: `vmotion ARGS` exits EXIT
# saying MESSAGE, and leaves DEV as it was: TABLE live, not suspended, no
# inactive table left behind.
vmotion_refused() {
	local dev=$1 table=$2 want=$3 msg=$4 rc=0
	shift 4
	vmotion "$@" > /tmp/out 2>&1 || rc=$?
	expect_eq "exit status of 'vmotion $*'" "$want" "$rc"
	grep -qF -- "$msg" /tmp/out || fail "'vmotion $*': expected '$msg', got: $(cat /tmp/out)"
	expect_eq "table after 'vmotion $*'" "$table" "$(dmsetup table "$dev")"
	dmsetup info "$dev" | matches "State: *ACTIVE" || fail "'vmotion $*' left $dev suspended"
	dmsetup info "$dev" | matches "Tables present: *LIVE$" ||
		fail "'vmotion $*' left a table behind: $(dmsetup info "$dev")"
}

# wait_migrating NAME [SECONDS]: until NAME's table is vmotion, as loaded by
# a vmotion migrate started in the background (which on a loaded host can
# take seconds: a fixed sleep once lost that race)
wait_migrating() {
	local i
	for ((i = 0; i < ${2:-60} * 10; i++)); do
		dmsetup table "$1" 2> /dev/null | matches " vmotion " && return 0
		sleep 0.1
	done
	fail "$1 never became a vmotion table: $(dmsetup table "$1")"
}

# hotplug_disk INDEX: plug in the disk that run-vm --hotplug prepared with
# serial vmdisk<INDEX>, through QEMU's monitor (PCI hotplug, as a disk
# plugged into a server), and print its /dev node once the kernel has it.
hotplug_disk() {
	local i=$1 t d
	[ -d "${VM_OUT:-}/hotplug" ] || fail "hotplug_disk: not in a run-vm guest"
	touch "$VM_OUT/hotplug/req-$i"
	for ((t = 0; t < 300; t++)); do
		[ -e "$VM_OUT/hotplug/done-$i" ] && break
		[ -e "$VM_OUT/hotplug/failed-$i" ] &&
			fail "plugging in disk $i: $(cat "$VM_OUT/hotplug/failed-$i")"
		sleep 0.1
	done
	[ -e "$VM_OUT/hotplug/done-$i" ] || fail "plugging in disk $i: no answer from run-vm"
	for ((t = 0; t < 300; t++)); do
		for d in /sys/block/vd*; do
			if [ "$(cat "$d/serial" 2>/dev/null)" = "vmdisk$i" ]; then
				echo "/dev/${d##*/}"
				return 0
			fi
		done
		sleep 0.1
	done
	fail "disk $i was plugged in but no /sys/block/vd* has serial vmdisk$i"
}

majmin() {
	local d
	d=$(readlink -f "$1")
	printf '%d:%d\n' "0x$(stat -c %t "$d")" "0x$(stat -c %T "$d")"
}

# dev_writes DEV: the writes DEV has completed (field 5 of its stat)
dev_writes() {
	awk '{ print $5 }' "/sys/dev/block/$(majmin "$1")/stat"
}

# wait_writing DEV N0: a load started in the background is writing to DEV:
# more than 200 writes completed past N0 (dev_writes before the start)
# within 60 s (a load starts slowly on a debug kernel), or fail.
wait_writing() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(dev_writes "$1")" -gt $(($2 + 200)) ] && return 0
		sleep 0.1
	done
	fail "the load did not start writing to $1"
}

# ambivalent DEV: two filesystem signatures on DEV (ext4, and a squashfs
# superblock in the first sector, which ext4 leaves alone): libblkid's
# safe probe says "ambivalent", blkid -p exits 8
ambivalent() {
	mkfs.ext4 -q -F "$1" 64M || fail "mkfs.ext4 $1"
	python3 - "$1" <<'PY' || fail "squashfs superblock on $1"
import os, struct, sys
sb = bytearray(4096)
sb[0:4] = b"hsqs"
struct.pack_into("<I", sb, 4, 1)          # inodes
struct.pack_into("<I", sb, 12, 131072)    # block size
struct.pack_into("<HH", sb, 28, 4, 0)     # version 4.0
struct.pack_into("<Q", sb, 40, 4096)      # bytes used
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, bytes(sb[:512]), 0)
os.fsync(fd)
os.close(fd)
PY
	local rc=0
	blkid -p "$1" > /dev/null 2>&1 || rc=$?
	expect_eq "blkid -p on $1 (8: ambivalent)" 8 "$rc"
}

# zero_ops_ok NAME FIO FIO_PID FIRST LEN WHAT: after zero writes and discards
# on /dev/mapper/NAME under fio job FIO (each also applied to /tmp/expect,
# the device's expected image): fio verified, the migration in sync with
# no destination error, the device reading /tmp/expect past the first FIRST
# 4 KiB blocks (fio's), and LEN sectors equal on the two disks.
zero_ops_ok() {
	local name=$1 job=$2 pid=$3 first=$4 len=$5 what=$6
	wait "$pid" || fail "fio exited with an error ($what)"
	fio_ok "$job"
	wait_state "$name" synced 600
	expect_eq "dest errors ($what)" 0 "$(vm_field "$name" 5)"
	cmp <(dd if="/dev/mapper/$name" bs=4k skip="$first" iflag=direct status=none) \
	    <(dd if=/tmp/expect bs=4k skip="$first" status=none) ||
		fail "the device does not read what was written, discarded and zeroed ($what)"
	same_range $SRC $SRC_OFF $DST $DST_OFF "$len"
}

# thin_pool NAME DEV: a dm-thin pool on DEV (64 MiB of metadata, the rest
# data, 64 KiB blocks), made with dmsetup; its metadata is checked with
# thin_check by thin_pool_check.
THIN_BLOCK=128
thin_pool() {
	local name=$1 dev=$2 size
	size=$(sectors "$dev")
	dmsetup create "${name}-meta" --table "0 131072 linear $dev 0"
	dmsetup create "${name}-data" --table "0 $((size - 131072)) linear $dev 131072"
	dd if=/dev/zero of="/dev/mapper/${name}-meta" bs=4k count=1 oflag=direct status=none
	dmsetup create "$name" --table \
		"0 $((size - 131072)) thin-pool /dev/mapper/${name}-meta /dev/mapper/${name}-data $THIN_BLOCK 0"
}

# thin_volume POOL ID NAME SECTORS: a new thin volume, which reads as zeroes
thin_volume() {
	dmsetup message "$1" 0 "create_thin $2"
	dmsetup create "$3" --table "0 $4 thin /dev/mapper/$1 $2"
}

# thin_pool_used POOL: data blocks the pool has mapped
thin_pool_used() {
	dmsetup status "$1" | cut -d' ' -f6 | cut -d/ -f1
}

# thin_pool_check POOL: take the pool down and run thin_check on its metadata
thin_pool_check() {
	dmsetup remove "$1"
	thin_check "/dev/mapper/$1-meta" > /tmp/thin_check.out 2>&1 ||
		{ cat /tmp/thin_check.out; fail "thin_check of $1's metadata"; }
	dmsetup remove "$1-meta" "$1-data"
}

# nonzero_blocks DEV OFFSET SECTORS BLOCK: how many BLOCK-sector blocks of
# the range hold anything but zeroes
nonzero_blocks() {
	python3 - "$@" <<'PY'
import os, sys
dev, off, n, blk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fd = os.open(dev, os.O_RDONLY)
zero = bytes(blk * 512)
count = 0
for s in range(off, off + n, blk):
    if os.pread(fd, blk * 512, s * 512) != zero:
        count += 1
print(count)
PY
}
