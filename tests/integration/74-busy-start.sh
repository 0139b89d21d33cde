#!/bin/bash
# A migration started under load on disks that are the limit (null_blk, 24 MiB/s and 500 µs a request) does not stall the application at the start: in every quarter second of the first 1.5 s after the table load it completes at least a twentieth of linear's median quarter second before the load (writes held for a copy map nothing new, and the copier took the device for idle: half a second of 0-18 I/Os a quarter second against 1,200-1,400); the least half second until sync is logged; bytes equal after sync, fio verifies.
. "$(dirname "$0")/../lib.sh"
. "$REPO/tools/bench/nullb.sh"
load_vmotion

NULLB_MBPS=24 NULLB_LAT_US=500
FIO_PID=
cleanup() {
	[ -z "$FIO_PID" ] || pkill -INT -P "$FIO_PID" fio 2>/dev/null || true
	wait 2>/dev/null || true
	dmsetup remove bs 2>/dev/null || true
	nullb_remove
}
trap cleanup EXIT
nullb_load
nullb_remove
nullb_create nullb0 64
nullb_create nullb1 64
len=$((64 * 2048))
fill /dev/nullb0 0 $len 74
dmsetup create bs --table "0 $len linear /dev/nullb0 0"

# every I/O's completion, in ms since the epoch (fio's clock and date's)
rm -f /tmp/bs-lat_*.log
fio_start=$(date +%s%3N)
# (each write read back and checked 256 writes later: fio verifies with
# verify_backlog only when do_verify is on; time-based, no final pass)
fio_verify bs /dev/mapper/bs 64M 4k --time_based --runtime=600 \
	--write_lat_log=/tmp/bs-lat --log_unix_epoch=1 &
FIO_PID=$!
sleep 5
t0=$(date +%s%3N)
dmsetup reload bs --table "0 $len vmotion /dev/nullb0 0 /dev/nullb1 0 128"
dmsetup resume bs
wait_state bs synced 300
t1=$(date +%s%3N)
# (fio_verify's subshell waits for fio: the signal goes to fio)
pkill -INT -P "$FIO_PID" fio
wait "$FIO_PID" || true
FIO_PID=
fio_ok bs
log "migrated in $((t1 - t0)) ms under load: $(vm_status bs)"
same_range /dev/nullb0 0 /dev/nullb1 0 $len

# I/Os completed in each quarter second on linear (from a second after fio
# started to the load) and during the migration (whole quarters only), and
# in each half second (a window starting at every quarter).  The stall came
# soon after the load (0-18 I/Os a quarter, at 470-975 ms) and lasted half a
# second: in the first 1.5 s every quarter must have a twentieth of linear's
# median.  The least half second of the whole migration is logged, not
# judged: two runs in nine had a stall later on, 3.5 s in (47 and 76 I/Os a
# quarter against 1,129) and 5 s in (11 and 0 against 810), which is an
# open defect of the copier's latency control (issue 17's note), not this
# one.
[ -s /tmp/bs-lat_clat.1.log ] || fail "fio wrote no completion log"
# (times from fio's start: mawk makes keys of big numbers with %.6g)
awk -F', *' -v f=1000 -v t0=$((t0 - fio_start)) -v t1=$((t1 - fio_start)) -v s="$fio_start" '
	{ c[int(($1 - s) / 250)]++ }
	END {
		for (q = int(f / 250); (q + 2) * 250 <= t0; q++)
			print "linear", c[q] + 0, c[q] + c[q + 1]
		for (q = int(t0 / 250) + 1; (q + 2) * 250 <= t1; q++)
			print "vmotion", c[q] + 0, c[q] + c[q + 1], q * 250 - t0
	}' /tmp/bs-lat_clat.1.log > /tmp/bs-quarters
median() {
	sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'
}
base=$(awk '$1 == "linear" { print $2 }' /tmp/bs-quarters | median)
base2=$(awk '$1 == "linear" { print $3 }' /tmp/bs-quarters | median)
n=$(grep -c '^vmotion ' /tmp/bs-quarters || true)
[ "$base" -ge 100 ] || fail "linear completed only $base I/Os a quarter second: the load did not run"
# (8 windows, one starting at every quarter, cover the first 2 s: the
# reads below then have lines to read)
[ "$n" -ge 8 ] || fail "the migration spanned only $n half-second windows (one a quarter; 8 cover the first 2 s): too short to tell"
log "the migration's quarters (I/Os, ms from the load): $(awk '$1 == "vmotion" { printf "%s@%s ", $2, $4 }' /tmp/bs-quarters)"
# the least quarter of the first 1.5 s, the least half second of all
read -r low lowat < <(awk '$1 == "vmotion" && $4 < 1500 { print $2, $4 }' \
	/tmp/bs-quarters | sort -n)
read -r low2 low2at < <(awk '$1 == "vmotion" { print $3, $4 }' \
	/tmp/bs-quarters | sort -n)
log "I/Os a quarter second: $base on linear (median), at least $low in the migration's first 1.5 s (at $lowat ms); a half second: $base2 on linear, at least $low2 during the migration (from $low2at ms)"
[ $((low * 20)) -ge "$base" ] ||
	fail "the application stalled: $low I/Os in the quarter second at $lowat ms of the migration, against $base on linear (median)"
[ $((low2 * 40)) -ge "$base2" ] ||
	log "NOTE: a stall during the migration: $low2 I/Os in the half second from $low2at ms, against $base2 on linear (median)"
