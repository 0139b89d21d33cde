#!/bin/bash
# make bench in the guest: tools/bench/bench.sh on each rig, one after the
# other, then one report that puts the rigs side by side.
#
#   virtio         /dev/vda, /dev/vdb: virtio disks on host files opened with
#                  cache=unsafe (the host's page cache: memory speed; the
#                  guest's CPU, emulated by TCG, is the limit)
#   virtio-direct  the same disks in a guest that opens them with
#                  cache=none (O_DIRECT on the host files: the host's disk
#                  takes part); tools/bench/run boots that guest for it
#   null_blk       two null_blk devices in the guest's memory with a
#                  bandwidth limit and a completion latency, so that the disks
#                  saturate well before the CPU does (the CPU's idle time
#                  during each migration is in the report)
#
# Environment: RIGS (default all three), OUT, and bench.sh's variables: a
# variable set applies to every rig, otherwise each rig has its own sizes
# and loads (below).  Every rig runs the three loads the goals are measured
# under (LOADS: bench.sh's default runs all six; LOADS= none, the idle
# migrations alone, as in bench.sh) and pairs
# copy_latency_target 0 (the copier of earlier versions) with dm-mirror
# (TARGETS, default 0 here; null_blk also 200 and 1000, about unthrottled:
# what the copier's target buys in time against the application's p99 on
# disks that saturate).  The sections that measure the target's features
# (busy_copy_share, none by default here; metadata, thin and slow
# destinations, the last at 64 MiB) run on the virtio rig alone.  The
# baseline runs 10 s (RUNTIME).
# NULLB_MBPS (default 24) and NULLB_LAT_US (default 500) set the null_blk
# disks' bandwidth (MiB/s, reads and writes together) and completion
# latency.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:?set OUT}
RIGS=${RIGS:-virtio virtio-direct null_blk}
NULLB_MBPS=${NULLB_MBPS:-24}
[ "$NULLB_MBPS" -ge 7 ] || { echo "bench: NULLB_MBPS=$NULLB_MBPS: at least 7 (a 128 KiB request per tick)" >&2; exit 2; }
NULLB_LAT_US=${NULLB_LAT_US:-500}
goal_loads="randwrite-4k randwrite-4k-hot mixed-70-30"

. "$here/nullb.sh"

rigs_done=
for rig in $RIGS; do
	# each rig's own defaults; a variable from the environment wins
	size= loads= sections=own targets=0
	case $rig in
	virtio)
		src=/dev/vda dst=/dev/vdb size=512 loads=$goal_loads sections=all
		desc="virtio disks on sparse host files, cache=unsafe (the host's memory; the TCG guest's CPU is the limit)"
		;;
	virtio-direct)
		src=/dev/vda dst=/dev/vdb size=256 loads=$goal_loads
		desc="virtio disks on sparse host files, cache=none (O_DIRECT: the host's disk takes part)"
		;;
	null_blk)
		size=64 loads=$goal_loads targets="0 200 1000"
		desc="null_blk in the guest's memory, $NULLB_MBPS MiB/s and ${NULLB_LAT_US} µs a request each (the disks, not the CPU, are the limit)"
		nullb_load
		trap nullb_remove EXIT
		nullb_remove
		# devices the module made itself (built in, or loaded before)
		# would be taken for these
		for n in nullb0 nullb1; do
			[ ! -e "/sys/block/$n" ] ||
				{ echo "bench: /dev/$n exists already (null_blk loaded with devices): remove it first" >&2; exit 1; }
		done
		rsize=$((${SIZE:-$size} + 16))
		# both live in memory: at most 70 % of what is available
		avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
		[ $((2 * rsize * 10)) -le $((avail * 7)) ] ||
			{ echo "bench: null_blk rig: SIZE=${SIZE:-$size} needs 2 x $rsize MiB of memory, $avail MiB available" >&2; exit 1; }
		nullb_create nullb0 "$rsize"
		nullb_create nullb1 "$rsize"
		src=/dev/nullb0 dst=/dev/nullb1
		;;
	*)
		echo "bench: unknown rig '$rig' (virtio, virtio-direct or null_blk)" >&2
		exit 2
		;;
	esac
	echo "bench: === rig $rig: $desc" >&2
	(
		export SRC=$src DST=$dst OUT=$OUT/$rig RIG_DESC="$rig: $desc"
		export SIZE=${SIZE:-$size} LOADS=${LOADS-$loads} RUNTIME=${RUNTIME:-10}
		export TARGETS=${TARGETS-$targets} SHARES=${SHARES-} SLOW_SIZE=${SLOW_SIZE:-64}
		if [ "$sections" != all ]; then
			export SHARES= MD_LOADS= THIN_RUNS= SLOW_MODES=
		fi
		bash "$here/bench.sh"
	)
	[ "$rig" != null_blk ] || nullb_remove
	rigs_done+=" $rig"
done

python3 "$here/analyze.py" --rigs "$OUT" $rigs_done
