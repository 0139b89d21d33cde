#!/bin/bash
# dm-vmotion benchmark: raw copy, vmotion, dm-mirror and pvmove side by side
# on the same disks and data size, idle and under fio loads.  Runs as root
# where the dm-vmotion module can be loaded (the test guest, or a real rig).
#
#   SRC, DST   source and destination disks (default /dev/vda, /dev/vdb)
#   SIZE       data size in MiB (default 1024)
#   RUNTIME    seconds of baseline load (default 15)
#   LOADS      fio jobs from tools/bench/*.fio (default: all six; "" for
#              the idle migrations alone)
#   MIRROR_LOADS  the loads dm-mirror and pvmove run under too (default: LOADS)
#   REGION     region size in sectors (default 1024)
#   TARGETS    copy_latency_target values to run TARGET_LOADS (default
#              randwrite-4k) under besides the default, each paired with
#              dm-mirror (default "0 200"; "" for none)
#   SHARES     busy_copy_share values to run 4 KiB random writes under, besides
#              the module's default (default "50 25"; "" for none)
#   MD_LOADS   loads a migration runs under with and without metadata, paired
#              (default "idle randwrite-4k"; "" for none)
#   THIN_RUNS  sources migrated onto a dm-thin volume on DST, with and without
#              skip_zeroes (default "dense sparse"; "" for none)
#   SLOW_MODES modes migrated onto DST served over NBD 150 ms away, paired
#              (default "mirror track auto"; "" for none)
#   SLOW_SIZE  data size in MiB of those migrations (default 256)
#   SLOW_LOAD  the load they run under (default randwrite-4k-hotset)
#   OUT        results directory
#   RIG_DESC   what the disks are, for the report's header
#
# Writes $OUT/events.tsv and fio latency logs, then tools/bench/analyze.py
# turns them into $OUT/bench-results.md and PNG plots.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export PATH="$repo/tools/vmotion:$PATH"

SRC=${SRC:-/dev/vda}
DST=${DST:-/dev/vdb}
SIZE=${SIZE:-1024}
RUNTIME=${RUNTIME:-15}
REGION=${REGION:-1024}
LOADS=${LOADS-randwrite-4k randwrite-4k-hot randwrite-4k-light randread-4k mixed-70-30 seqwrite-1m}
MIRROR_LOADS=${MIRROR_LOADS-$LOADS}
OUT=${OUT:?set OUT}
len=$((SIZE * 2048))
mkdir -p "$OUT"
ev="$OUT/events.tsv"
: > "$ev"

ms() { date +%s%3N; }
# the CPUs' idle (and iowait) and total jiffies, at a migration's start and sync
cpu_jiffies() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }
# sectors read and written so far on SRC and on DST (their block layer
# statistics: what the disks themselves were asked to move)
disk_sectors() { cat "$src_stat" "$dst_stat" | awk '{ printf "%s%s %s", sep, $3, $7; sep = " " }'; }
event() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(ms)" "${4:-}" >> "$ev"
	case $3 in
	start | sync)
		printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "cpu_$3" "$(ms)" "$(cpu_jiffies)" >> "$ev"
		printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "disk_$3" "$(ms)" "$(disk_sectors)" >> "$ev"
		;;
	esac
}
# progress, with the seconds since this rig started (where the time goes)
note() { echo "bench: [${SECONDS}s] $*" >&2; }

# Before anything is written: two distinct block devices, big enough
# (pvmove needs room for LVM's metadata), not in use; on a real rig, none
# with a signature unless BENCH_DESTROY_DATA=yes (the guest's disks are
# throwaway files).
refuse() {
	echo "bench: $*" >&2
	exit 1
}
need=$(((SIZE + 8) * 1048576))
for d in "$SRC" "$DST"; do
	[ -b "$d" ] || refuse "$d: not a block device"
	bytes=$(blockdev --getsize64 "$d")
	[ "$bytes" -ge "$need" ] ||
		refuse "$d: $bytes bytes; SIZE=$SIZE needs $need ($SIZE MiB and 8 MiB for LVM's metadata)"
	python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL))' "$d" 2>/dev/null ||
		refuse "$d: in use (mounted, swap, or held by device-mapper, md or LVM)"
done
# each disk's block layer statistics, by its major and minor (stat prints
# them in hex): one path for one device
dev_stat() {
	local maj min
	read -r maj min < <(stat -L -c '%t %T' "$1")
	printf '/sys/dev/block/%d:%d/stat' "0x$maj" "0x$min"
}
src_stat=$(dev_stat "$SRC") dst_stat=$(dev_stat "$DST")
[ "$src_stat" != "$dst_stat" ] || refuse "SRC and DST are the same device ($SRC, $DST)"
if [ -z "${VM_GUEST:-}" ] && [ "${BENCH_DESTROY_DATA:-}" != yes ]; then
	for d in "$SRC" "$DST"; do
		# blkid -p: 0 found, 2 nothing found; 8 ambivalent (several
		# signatures), 4 or others: the disk could not be read
		rc=0
		out=$(blkid -p -o export "$d" 2>&1) || rc=$?
		case $rc in
		0) sig=$(echo "$out" | sed -n 's/^TYPE=//p; s/^PTTYPE=/partition table /p' | head -1) ;;
		2) sig= ;;
		8) sig="several signatures (blkid: ambivalent)" ;;
		*) refuse "$d: cannot be probed for signatures (blkid -p exit status $rc: $out)" ;;
		esac
		[ -z "$sig" ] ||
			refuse "$d carries a signature ($sig); every byte of $SRC and $DST is overwritten: set BENCH_DESTROY_DATA=yes to go on"
	done
fi

# modules: the ones built here, with insmod (no depmod of the module tree)
modprobe dm-mod
for m in dm-vmotion-bitmap dm-vmotion-metadata dm-vmotion; do
	lsmod | grep "^${m//-/_} " > /dev/null || insmod "$repo/$m.ko"
done
modprobe dm-mirror
share_param=/sys/module/dm_vmotion/parameters/busy_copy_share
default_share=$(cat "$share_param")
# On every exit: the module parameters as they were, nothing left running
LOAD_PID= SAMPLER= default_target=
target_param=/sys/module/dm_vmotion/parameters/copy_latency_target
cleanup() {
	echo "$default_share" > "$share_param"
	[ -z "$default_target" ] || echo "$default_target" > "$target_param"
	# shellcheck disable=SC2086 # empty when none
	kill $SAMPLER $LOAD_PID 2>/dev/null || true
	[ -z "${NBD_STARTED:-}" ] || nbd_dest_stop
}
trap cleanup EXIT

# wipe DEV: discard it all; a disk that cannot discard gets its first MiB,
# the MiB at the data size (where md_run puts metadata) and its last 8 MiB
# (where the tool puts metadata) zeroed, so that no migration's header
# survives into the next run
wipe() {
	local mib
	blkdiscard -f "$1" 2>/dev/null && return
	mib=$(($(blockdev --getsize64 "$1") / 1048576))
	for at in 0 "$SIZE" $((mib - 8)); do
		[ "$at" -ge 0 ] && [ "$at" -lt "$mib" ] || continue
		dd if=/dev/zero of="$1" bs=1M seek="$at" count=$((at == mib - 8 ? 8 : 1)) \
			oflag=direct status=none
	done
}
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }

# start_load NAME LOAD DEV: fio in the background, per-I/O latency log
start_load() {
	DEV=$3 SIZE=${SIZE}M RUNTIME=$4 LOGPREFIX="$OUT/$1" \
		fio --output-format=json --output="$OUT/$1.json" \
		--log_unix_epoch=1 "$here/$2.fio" &
	LOAD_PID=$!
	sleep 1
}
stop_load() {
	kill -INT "$LOAD_PID" 2>/dev/null || true
	wait "$LOAD_PID" || true
	LOAD_PID=
}

# wait_dm_synced DEV KIND: wait for the sync event of vmotion or mirror
wait_synced() {
	local dev=$1 kind=$2 st e
	while :; do
		e=$(dmsetup info -c --noheadings -o events "$dev" | tr -d ' ')
		st=$(dmsetup status "$dev")
		case "$kind" in
		vmotion) [ "$(echo "$st" | cut -d' ' -f6)" = synced ] && return 0 ;;
		mirror)
			set -- $st
			# 0 len mirror 2 dev dev N/M ...
			[ "${7%/*}" = "${7#*/}" ] && return 0 ;;
		esac
		dmsetup wait "$dev" "$e" >/dev/null 2>&1 || sleep 0.2
	done
}

note "filling $SIZE MiB of $SRC"
wipe "$SRC"
wipe "$DST"
fio --name=fill --filename="$SRC" --rw=write --bs=1M --direct=1 --ioengine=libaio \
	--iodepth=8 --size=${SIZE}M --refill_buffers --output=/dev/null

# one dd, then a reader and a writer in a pipe, so that reading the source
# and writing the destination overlap as they do in a migration (one dd
# alternates them: half the speed on disks limited by bandwidth; the pipe
# costs CPU, which a TCG guest is short of): the faster is the limit
note "raw copy limit: dd O_DIRECT 1 MiB, alone and as a reader and a writer in a pipe"
sync
event raw-dd idle start
dd if="$SRC" of="$DST" bs=1M count="$SIZE" iflag=direct oflag=direct status=none
event raw-dd idle sync
wipe "$DST"
event raw-pipe idle start
dd if="$SRC" bs=1M count="$SIZE" iflag=direct status=none |
	dd of="$DST" bs=1M iflag=fullblock oflag=direct status=none
event raw-pipe idle sync

# vmotion idle, with memory sampling
note "vmotion idle"
wipe "$DST"
dmsetup create bvm --table "0 $len linear $SRC 0"
slab0=$(slab_kb)
event vmotion idle start
dmsetup reload bvm --table "0 $len vmotion $SRC 0 $DST 0 $REGION"
dmsetup resume bvm
peak=$slab0
while [ "$(dmsetup status bvm | cut -d' ' -f6)" != synced ]; do
	s=$(slab_kb)
	[ "$s" -gt "$peak" ] && peak=$s
	sleep 0.2
done
event vmotion idle sync
event vmotion idle slab_peak_kb "$((peak - slab0))"
event vmotion idle regions "$(dmsetup status bvm | cut -d' ' -f4 | cut -d/ -f2)"
event vmotion idle share "$default_share"
dmsetup remove bvm

# dm-mirror idle
note "dm-mirror idle"
wipe "$DST"
dmsetup create bmir --table "0 $len linear $SRC 0"
event dm-mirror idle start
dmsetup reload bmir --table "0 $len mirror core 1 $REGION 2 $SRC 0 $DST 0"
dmsetup resume bmir
wait_synced bmir mirror
event dm-mirror idle sync
dmsetup remove bmir

# vmotion_run NAME LOAD [switch]: vmotion migration under LOAD with the tool,
# events under NAME; with "switch", switches once in sync.
vmotion_run() {
	local name=$1 load=$2 switch=${3:-}
	note "load $load: $name"
	wipe "$DST"
	dmsetup create bvm --table "0 $len linear $SRC 0"
	start_load "$name-$load" "$load" /dev/mapper/bvm 3600
	sleep 2
	event "$name" "$load" start
	# For the copier plot: KiB read from the source (the copier's reads,
	# and the application's), every quarter of a second.  Shell builtins
	# only: a process a sample (dmsetup status) took a tenth of the TCG
	# guest's CPU from the migration it measured.
	(
		exec {fd}<> <(:)
		stat=/sys/class/block/$(basename "$(readlink -f "$SRC")")/stat
		while :; do
			read -r _ _ rsect _ < "$stat"
			# microseconds, whatever the locale's decimal point
			echo "${EPOCHREALTIME//[!0-9]/} $((rsect / 2))"
			read -r -t 0.25 -u "$fd" || true
		done
	) > "$OUT/$name-$load.copied" &
	SAMPLER=$!
	# --force: DST is the destination of the last run, wiped; the tool
	# would refuse it as holding a finished migration's data
	vmotion migrate --force --no-switch --region-size $((REGION / 2))K bvm "$DST" \
		> "$OUT/$name-$load.migrate" 2>&1 ||
		{ cat "$OUT/$name-$load.migrate" >&2; exit 1; }
	event "$name" "$load" sync
	kill "$SAMPLER" 2>/dev/null || true
	wait "$SAMPLER" 2>/dev/null || true
	SAMPLER=
	sleep 2
	if [ -n "$switch" ]; then
		event "$name" "$load" switch_begin
		vmotion switch bvm > "$OUT/$name-$load.switch" 2>&1 ||
			{ cat "$OUT/$name-$load.switch" >&2; exit 1; }
		event "$name" "$load" switch \
			"$(grep -o 'paused for [0-9.]*' "$OUT/$name-$load.switch" | cut -d' ' -f3)"
		sleep 2
	fi
	stop_load
	event "$name" "$load" end
	dmsetup remove bvm
}

# mirror_run NAME LOAD: dm-mirror's resync under LOAD, events under NAME
mirror_run() {
	local name=$1 load=$2
	note "load $load: dm-mirror"
	wipe "$DST"
	dmsetup create bmir --table "0 $len linear $SRC 0"
	start_load "$name-$load" "$load" /dev/mapper/bmir 3600
	sleep 2
	event "$name" "$load" start
	dmsetup reload bmir --table "0 $len mirror core 1 $REGION 2 $SRC 0 $DST 0"
	dmsetup resume bmir
	wait_synced bmir mirror
	event "$name" "$load" sync
	sleep 2
	stop_load
	event "$name" "$load" end
	dmsetup remove bmir
}

# pvmove: LVM on the same two disks; the LV starts on SRC
export LVM_SYSTEM_DIR=$OUT/lvm
mkdir -p "$LVM_SYSTEM_DIR"
cat > "$LVM_SYSTEM_DIR/lvm.conf" <<EOF
devices { obtain_device_list_from_udev = 0 filter = [ "a|^$SRC\$|", "a|^$DST\$|", "r|.*|" ] types = [ "nullb", 16 ] }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
global { use_lvmpolld = 0 }
EOF
pvmove_run() {
	local load=$1
	note "load $load: pvmove"
	wipe "$SRC"
	wipe "$DST"
	pvcreate -qq -ff -y "$SRC" "$DST"
	vgcreate -qq bvg "$SRC" "$DST"
	lvcreate -qq -y -L "${SIZE}M" -n lv bvg "$SRC"
	fio --name=fill --filename=/dev/bvg/lv --rw=write --bs=1M --direct=1 \
		--ioengine=libaio --iodepth=8 --size=${SIZE}M --refill_buffers --output=/dev/null
	if [ "$load" != idle ]; then
		start_load "pvmove-$load" "$load" /dev/bvg/lv 3600
		sleep 2
	fi
	event pvmove "$load" start
	pvmove -i 1 "$SRC" "$DST" > "$OUT/pvmove-$load.out" 2>&1 &
	local pv=$! t=0
	# dm-mirror's resync waits for a region without writes in flight: on a
	# small disk under QD16 it may wait as long as the load lasts; after
	# 300 s the load stops (the event says so) and the move finishes
	while kill -0 $pv 2>/dev/null; do
		sleep 1
		t=$((t + 1))
		if [ $t = 300 ] && [ "$load" != idle ]; then
			event pvmove "$load" load_stopped
			stop_load
		fi
	done
	wait $pv
	event pvmove "$load" sync
	if [ "$load" != idle ]; then
		sleep 2
		[ -z "$LOAD_PID" ] || stop_load
		event pvmove "$load" end
	fi
	vgremove -qq -ff -y bvg
	pvremove -qq -ff -y "$SRC" "$DST"
}
pvmove_run idle

# dm-mirror and pvmove run right after vmotion under the same load, and
# dm-mirror again after each other busy_copy_share: a slow drift of the
# machine (a TCG guest on a shared host) then touches every side of each
# ratio alike.
for load in $LOADS; do
	note "load $load: baseline on linear"
	dmsetup create bl --table "0 $len linear $SRC 0"
	start_load "linear-$load" "$load" /dev/mapper/bl "$RUNTIME"
	event linear "$load" start
	wait "$LOAD_PID" || true
	LOAD_PID=
	event linear "$load" end
	dmsetup remove bl

	vmotion_run vmotion "$load" switch
	case " $MIRROR_LOADS " in
	*" $load "*)
		mirror_run dm-mirror "$load"
		pvmove_run "$load"
		;;
	esac
done

# md_run NAME LOAD FEATURES: a migration loaded with dmsetup (the table
# line's features given as they are), under LOAD or idle; the metadata's
# blocks written go into the events.
md_run() {
	local name=$1 load=$2 feats=$3
	note "metadata pair, $load: $name"
	wipe "$DST"
	dmsetup create bvm --table "0 $len linear $SRC 0"
	if [ "$load" != idle ]; then
		start_load "$name-$load" "$load" /dev/mapper/bvm 3600
		sleep 2
	fi
	event "$name" "$load" start
	dmsetup reload bvm --table "0 $len vmotion $SRC 0 $DST 0 $REGION$feats"
	dmsetup resume bvm
	wait_synced bvm vmotion
	event "$name" "$load" sync
	event "$name" "$load" md_blocks "$(dmsetup status bvm | cut -d' ' -f15)"
	if [ "$load" != idle ]; then
		stop_load
		event "$name" "$load" end
	fi
	dmsetup remove bvm
}

# Metadata's cost: each load with and without, one right after the other
# (the metadata past the migrated range on the destination, as the tool
# puts it by default)
for load in ${MD_LOADS-idle randwrite-4k}; do
	md_run vmotion-nomd "$load" ""
	md_run vmotion-md "$load" " 3 metadata $DST $len"
done

# The latency control's target against dm-mirror, each run paired (0: the
# copier at its least level, the fixed duty cycle of earlier versions)
default_target=$(cat "$target_param")
event vmotion idle target "$default_target"
for target in ${TARGETS-0 200}; do
	[ "$target" = "$default_target" ] && continue
	for load in ${TARGET_LOADS:-randwrite-4k}; do
		echo "$target" > "$target_param"
		vmotion_run "vmotion-target-$target" "$load"
		event "vmotion-target-$target" "$load" target "$target"
		echo "$default_target" > "$target_param"
		mirror_run "dm-mirror-tpair-$target" "$load"
	done
done

# The copier's share of a busy device against the application's IOPS
for share in ${SHARES-50 25}; do
	[ "$share" = "$default_share" ] && continue
	load=randwrite-4k
	echo "$share" > "$share_param"
	vmotion_run "vmotion-share-$share" "$load"
	event "vmotion-share-$share" "$load" share "$share"
	echo "$default_share" > "$share_param"
	mirror_run "dm-mirror-pair-$share" "$load"
done

# Thin destination: a dm-thin pool on DST (64 KiB blocks), a new thin volume
# for each migration; the source dense (the random fill) and then sparse (a
# fifth of it data, in 40 extents; zeroes written over the rest).  Each is
# migrated idle without skip_zeroes, with it, and with dest_zeroed (what the
# tool does onto a new thin volume); the pool's data blocks in use after.
thin_run() {
	local src=$1 feats=$2 id=$3 name
	name=${feats:-plain}
	name=${name// /+}
	note "thin destination, $src source: $name"
	dmsetup message bpool 0 "create_thin $id"
	dmsetup create bthin --table "0 $len thin /dev/mapper/bpool $id"
	dmsetup create bvm --table "0 $len linear $SRC 0"
	event "thin-$src" "$name" start
	dmsetup reload bvm --table "0 $len vmotion $SRC 0 /dev/mapper/bthin 0 $REGION${feats:+ $(wc -w <<< "$feats") $feats}"
	dmsetup resume bvm
	wait_synced bvm vmotion
	event "thin-$src" "$name" sync
	event "thin-$src" "$name" zero_kib "$(dmsetup status bvm | cut -d' ' -f17)"
	dmsetup remove bvm
	dmsetup remove bthin
	event "thin-$src" "$name" pool_mib \
		"$(($(dmsetup status bpool | cut -d' ' -f6 | cut -d/ -f1) / 16))"
	dmsetup message bpool 0 "delete $id"
}
thin_meta=$((8192 + len / 128))
if [ -n "${THIN_RUNS-dense sparse}" ] &&
	[ "$(blockdev --getsz "$DST")" -lt $((len + thin_meta)) ]; then
	note "thin destination: $DST is too small for a pool of $SIZE MiB; skipped"
	THIN_RUNS=
fi
if [ -n "${THIN_RUNS-dense sparse}" ]; then
	modprobe dm-thin-pool
	wipe "$DST"
	dmsetup create bpool-meta --table "0 $thin_meta linear $DST 0"
	dmsetup create bpool-data --table "0 $len linear $DST $thin_meta"
	dd if=/dev/zero of=/dev/mapper/bpool-meta bs=4k count=1 oflag=direct status=none
	dmsetup create bpool --table "0 $len thin-pool /dev/mapper/bpool-meta /dev/mapper/bpool-data 128 0"
	id=0
	for src in ${THIN_RUNS-dense sparse}; do
		if [ "$src" = sparse ]; then
			ext=$((len / 5 / 40))
			for ((i = 0; i < 40; i++)); do
				gap=$((i * len / 40 + ext))
				blkdiscard -z -o $((gap * 512)) -l $(((len / 40 - ext) * 512)) "$SRC"
			done
		fi
		for feats in "" "skip_zeroes" "dest_zeroed"; do
			thin_run "$src" "$feats" $id
			id=$((id + 1))
		done
	done
	dmsetup remove bpool bpool-meta bpool-data
fi

# Slow destination: DST served over NBD from a network namespace of this
# machine with 75 ms of netem delay each way (a round trip of 150 ms, as
# across sites; tests/slowdest.sh), SLOW_SIZE MiB under SLOW_LOAD:
# linear on the source alone (the baseline), then a migration in each mode
# with the tool, one right after the other.  mode track does not converge
# under this load: once it has run as long as mirror took (at least 10 s)
# it is told to mirror (vmotion mode), and its time counts to the sync.
# Events: start, sync, the switch and its pause, KiB written to the NBD
# disk, KiB copied, the copier's passes, regions dirtied again.
# (fail and matches: what tests/slowdest.sh calls)
fail() { note "$*"; exit 1; }
matches() { grep "$@" > /dev/null; }
nbd_written() { awk '{ print $7 }' "/sys/block/${NBD_DEV#/dev/}/stat"; }
vm_st() { dmsetup status bvm | cut -d' ' -f"$1"; }
slow_run() {
	local mode=$1 w0 pid t0 limit
	note "slow destination: mode $mode"
	dmsetup create bvm --table "0 $slen linear $SRC 0"
	SIZE=$SLOW_SIZE start_load "slow-$mode" "$SLOW_LOAD" /dev/mapper/bvm 3600
	sleep 2
	w0=$(nbd_written)
	t0=$(ms)
	event slow "$mode" start
	vmotion migrate --force --no-metadata --no-switch --mode "$mode" \
		--region-size $((REGION / 2))K bvm "$NBD_DEV" > "$OUT/slow-$mode.migrate" 2>&1 &
	pid=$!
	if [ "$mode" = track ]; then
		limit=$((${slow_mirror_ms:-10000} > 10000 ? ${slow_mirror_ms:-10000} : 10000))
		while kill -0 $pid 2>/dev/null && [ $(($(ms) - t0)) -lt $limit ]; do
			sleep 0.5
		done
		if kill -0 $pid 2>/dev/null; then
			event slow track mirror "$(vm_st 21)"
			vmotion mode bvm mirror
		fi
	fi
	wait $pid || { cat "$OUT/slow-$mode.migrate" >&2; exit 1; }
	event slow "$mode" sync
	[ "$mode" = mirror ] && slow_mirror_ms=$(($(ms) - t0))
	event slow "$mode" dest_kib $((($(nbd_written) - w0) / 2))
	event slow "$mode" copied_kib "$(vm_st 8)"
	event slow "$mode" passes "$(vm_st 21)"
	event slow "$mode" redirtied "$(vm_st 20)"
	sleep 1
	event slow "$mode" switch_begin
	vmotion switch bvm > "$OUT/slow-$mode.switch" 2>&1 ||
		{ cat "$OUT/slow-$mode.switch" >&2; exit 1; }
	event slow "$mode" switch \
		"$(grep -o 'paused for [0-9.]*' "$OUT/slow-$mode.switch" | cut -d' ' -f3)"
	sleep 1
	stop_load
	event slow "$mode" end
	dmsetup remove bvm
}
SLOW_MODES=${SLOW_MODES-mirror track auto}
SLOW_SIZE=${SLOW_SIZE:-256}
SLOW_LOAD=${SLOW_LOAD:-randwrite-4k-hotset}
slen=$((SLOW_SIZE * 2048))
if [ -n "$SLOW_MODES" ]; then
	# shellcheck source=../../tests/slowdest.sh
	. "$repo/tests/slowdest.sh"
	wipe "$DST"
	nbd_dest_start "$DST" 75
	NBD_STARTED=1
	note "slow destination: the load on the source alone"
	dmsetup create bvm --table "0 $slen linear $SRC 0"
	SIZE=$SLOW_SIZE start_load slow-linear "$SLOW_LOAD" /dev/mapper/bvm 3600
	event slow linear start
	event slow linear load "$SLOW_LOAD"
	sleep "$RUNTIME"
	stop_load
	event slow linear end
	dmsetup remove bvm
	for mode in $SLOW_MODES; do
		slow_run "$mode"
	done
	nbd_dest_stop
	NBD_STARTED=
fi

note "analysis"
python3 "$here/analyze.py" "$OUT" "$SIZE" "$REGION"
