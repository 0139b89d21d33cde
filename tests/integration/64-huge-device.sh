#!/bin/bash
# A 4 TiB device of 2^30 regions of 4 KiB (its first GiB on vda, the rest zero targets): the constructor's time, and 4 KiB reads on the copier's CPU while it searches the whole bitmap, twice, for the one region out of sync: the worst read latency stays a small part of the search, which lets go of its lock every 16384 regions; a failed flush takes all 2^30 regions out of sync, the worker clearing them a window at a time.
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

# fio_reads NAME: 4 KiB random reads of the first GiB, on CPU 0, until
# SIGINT; its JSON report in /tmp/NAME.json
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

# unsync_last: the last region's write fails on the destination: paused,
# that region alone out of sync
unsync_last() {
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
}
# search: resume; the worker searches for that region and copies it while
# fio reads; true if the worst read stayed a small part of the search
search() {
	local t0 t1
	unsync_last
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
	expect_eq "copied KiB" $((4 * $1)) "$(vm_field hv 4)"
	# held for the whole search, the lock would keep a read a good part
	# of it (a search of 16384 regions under the lock takes microseconds)
	[ "$(echo "$during * 10 < $scan || $during < 3 * $base" | bc)" = 1 ]
}
# A TCG guest's vCPU can lose the host's CPU for a while (another guest, a
# busy host): one slow read in a search proves little; a search that keeps
# the lock fails every time.
for try in 1 2 3; do
	search $try && break
	[ $try -lt 3 ] || fail "a read waited $during ms during a $scan ms search ($base ms before), three times out of three: the lock is held for long stretches of it"
done

log "a failed flush: every region out of sync, cleared a window at a time by the worker"
# the destination's last 8 sectors: flakey over vdb, failing writes and
# flushes; with vdb's write cache under it, a flush of hd reaches them
dmsetup suspend hd
dmsetup reload hd --table "0 $((big - 8)) zero
$((big - 8)) 8 flakey /dev/vdb 0 0 3600 1 error_writes"
dmsetup resume hd
# reads on CPU 0 (where the worker will run): the worst of those that
# start after /tmp/go appears, once the device is resumed (the suspend
# holds the ones before)
rm -f /tmp/go /tmp/stop
taskset -c 0 python3 - > /tmp/reads.out <<'PY' &
import mmap, os, random, time
fd = os.open("/dev/mapper/hv", os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
worst = n = 0
while not os.path.exists("/tmp/stop"):
    go = os.path.exists("/tmp/go")
    t = time.monotonic()
    os.preadv(fd, [buf], random.randrange(262144) * 4096)
    if go:
        worst = max(worst, time.monotonic() - t)
        n += 1
print("%.1f %d" % (worst * 1000, n))
PY
reads=$!
sleep 1
t0=$(date +%s.%N)
taskset -c 0 dmsetup suspend hv	# postsuspend flushes the destination: it fails
taskset -c 0 dmsetup resume hv	# the worker clears every region, from CPU 0
touch /tmp/go
for ((i = 0; i < 600; i++)); do
	[ "$(vm_field hv 0)" = "0/$((big / 8))" ] && break
	sleep 0.1
done
t1=$(date +%s.%N)
touch /tmp/stop
wait $reads
read -r worst nreads < /tmp/reads.out
expect_eq "regions in sync after the failed flush" "0/$((big / 8))" "$(vm_field hv 0)"
expect_eq "paused by" error "$(vm_field hv 8)"
clear=$(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1)
log "all $((big / 8)) regions out of sync in $clear ms (suspend, resume and clear); worst of $nreads 4 KiB reads meanwhile: $worst ms"
[ "$nreads" -gt 0 ] || fail "no read ran during the clear"
[ "$(echo "$worst * 10 < $clear || $worst < 3 * $base" | bc)" = 1 ] ||
	fail "a read waited $worst ms during a $clear ms clear ($base ms before the search): the lock is held for long stretches of it"
dmsetup remove hv
dmsetup remove hd
dmsetup remove hz
