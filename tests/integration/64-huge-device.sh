#!/bin/bash
# A 4 TiB device of 2^30 regions of 4 KiB (its first GiB on vda, the rest zero targets): the constructor's time, and 4 KiB reads on the copier's CPU while it searches the whole bitmap, twice, for the one region out of sync: the worst read latency stays a small part of the search, which lets go of its lock every 16384 regions.
. "$(dirname "$0")/../lib.sh"
load_vmotion

big=$((1 << 33))	# 4 TiB in sectors
gib=2097152
dmsetup create hz --table "0 $gib linear $SRC 0
$gib $((big - gib)) zero"
dmsetup create hd --table "0 $big zero"
t0=$(date +%s.%N)
dmsetup create hv --table "0 $big vmotion /dev/mapper/hz 0 /dev/mapper/hd 0 8 1 nosync"
t1=$(date +%s.%N)
log "constructor and resume of $((big / 8)) regions: $(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1) ms"
wait_state hv synced 120

# the last region's write fails on the destination: paused, that region
# alone out of sync
dmsetup suspend hd
dmsetup reload hd --table "0 $((big - 8)) zero
$((big - 8)) 8 error"
dmsetup resume hd
dd if=/dev/zero of=/dev/mapper/hv bs=4k seek=$((big / 8 - 1)) count=1 oflag=direct status=none
wait_state hv paused 30
expect_eq "regions in sync" "$((big / 8 - 1))/$((big / 8))" "$(vm_field hv 0)"
dmsetup suspend hd
dmsetup reload hd --table "0 $big zero"
dmsetup resume hd

# fio_reads NAME: 4 KiB random reads of the first GiB, on CPU 0, until
# /tmp/NAME.stop; max completion latency in /tmp/NAME.max (ms)
fio_reads() {
	taskset -c 0 fio --name="$1" --filename=/dev/mapper/hv --size=1G --bs=4k \
		--rw=randread --ioengine=libaio --iodepth=1 --direct=1 \
		--time_based --runtime=600 --output-format=json --output="/tmp/$1.json" &
	READS_PID=$!
	sleep 2
}
# the JSON report follows fio's "terminating on signal" line
max_ms() {
	python3 -c 'import json,sys; t=open(sys.argv[1]).read(); j=json.loads(t[t.index("{"):]); print("%.1f" % (j["jobs"][0]["read"]["clat_ns"]["max"] / 1e6))' "$1" ||
		{ head -5 "$1"; fail "no fio report in $1"; }
}
fio_reads base
sleep 3
kill -INT $READS_PID; wait $READS_PID || true
base=$(max_ms /tmp/base.json)

fio_reads scan
t0=$(date +%s.%N)
# from CPU 0: the worker runs there, where fio reads
taskset -c 0 dmsetup message hv 0 resume
wait_state hv synced 600
t1=$(date +%s.%N)
kill -INT $READS_PID; wait $READS_PID || true
during=$(max_ms /tmp/scan.json)
scan=$(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1)
log "search for the last region and its copy: $scan ms; worst 4 KiB read: $during ms while searching, $base ms before"
expect_eq "copied KiB" 4 "$(vm_field hv 4)"
[ "$(echo "$during * 4 < $scan" | bc)" = 1 ] ||
	fail "a read waited $during ms during a $scan ms search: the lock is held for long stretches of it"
dmsetup remove hv
dmsetup remove hd
dmsetup remove hz
