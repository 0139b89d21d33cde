#!/bin/bash
# A distant destination: an NBD disk served from another network namespace, 150 ms a round trip (netem). Under verified random writes with a hot set, vmotion migrate --mode mirror, track (told to mirror with vmotion mode) and auto converge and switch, bytes equal; while tracking no application write reaches the destination; the server killed mid-copy while tracking: paused, the application unharmed, the source intact, abort back to it.
. "$(dirname "$0")/../lib.sh"
. "$REPO/tests/slowdest.sh"
load_vmotion
trap nbd_dest_stop EXIT

len=$((32 * 2048))
wipe /dev/vda /dev/vdb
nbd_dest_start /dev/vdb 75
vn=$(majmin $NBD_DEV)
# sectors the kernel wrote to the NBD disk so far
nbd_written() { awk '{ print $7 }' /sys/block/nbd0/stat; }

# fio_hot NAME SECONDS: verified 4 KiB random writes, 90 % of them on a
# tenth of the device, on /dev/mapper/nm, in the background.  Each write
# is read back and checked 256 writes later (fio does that only with
# do_verify on); no final pass, the run being time-based (once switched,
# reading it all back would take minutes at 150 ms a read).
fio_hot() {
	fio_verify "$1" /dev/mapper/nm 32M 4k --iodepth=8 \
		--random_distribution=zoned:90/10:10/90 --runtime="$2" --time_based &
	FIO_PID=$!
}
# (stopped early with SIGINT, fio's status says nothing: its output does)
fio_hot_done() {
	wait "$FIO_PID" || true
	fio_ok "$1"
}

for mode in mirror track auto; do
	log "migrate --mode $mode onto the NBD disk under verified writes with a hot set"
	fill $SRC 0 $len $((${#mode} + 72))
	dmsetup create nm --table "0 $len linear $SRC 0"
	fio_hot "nm-$mode" 600
	sleep 1
	if [ $mode = track ]; then
		w0=$(nbd_written)
		vmotion migrate --mode track --force --no-metadata --no-switch nm $NBD_DEV > /tmp/nm.out 2>&1 &
		mig=$!
		for ((i = 0; i < 1200; i++)); do
			[ "$(vm_field nm 17 2>/dev/null)" -ge 3 ] 2>/dev/null && break
			sleep 0.1
		done
		[ "$(vm_field nm 17)" -ge 3 ] || fail "track: no third pass: $(vm_status nm)"
		# the copier's writes alone: copied KiB, twice in sectors (once
		# the chunks in flight are done: paused, a round trip or more)
		vmotion pause nm
		sleep 3
		copied=$(vm_field nm 4) w1=$(nbd_written)
		log "track, pass $(vm_field nm 17): $(vm_status nm); $(((w1 - w0) / 2)) KiB written to the NBD disk"
		expect_eq "track: destination writes are the copier's" $((copied * 2)) $((w1 - w0))
		vmotion resume nm
		vmotion mode nm mirror
		wait $mig || { cat /tmp/nm.out; fail "migrate --mode track"; }
		vmotion switch nm >> /tmp/nm.out 2>&1 || { cat /tmp/nm.out; fail "switch"; }
	else
		vmotion migrate --mode $mode --force --no-metadata nm $NBD_DEV > /tmp/nm.out 2>&1 ||
			{ cat /tmp/nm.out; fail "migrate --mode $mode"; }
	fi
	cat /tmp/nm.out
	grep -q "^nm: switched to the destination ($vn); I/O paused for [0-9.]* ms$" /tmp/nm.out ||
		fail "no switch"
	expect_eq "table after the switch" "0 $len linear $vn 0" "$(dmsetup table nm)"
	# fio itself, not the shell running it (which waits for fio first)
	pkill -INT -x fio || true
	fio_hot_done "nm-$mode"
	same_range /dev/mapper/nm 0 /dev/vdb 0 $len
	dmsetup remove nm
done

log "the NBD server is killed mid-copy while tracking: paused by the error, writes unharmed, source intact"
fill $SRC 0 $len 75
dmsetup create nm --table "0 $len linear $SRC 0"
dmsetup reload nm --table "0 $len vmotion $(majmin $SRC) 0 $vn 0 1024 4 mode track rate 2048"
dmsetup resume nm
wait_synced_ge nm 10 120
fio_hot nm-kill 15
sleep 2
nbd_dest_kill
wait_state nm paused 120
expect_eq "paused by" error "$(vm_field nm 8)"
[ "$(vm_field nm 5)" -ge 1 ] || fail "destination errors not counted: $(vm_status nm)"
fio_hot_done nm-kill
log "after the kill: $(vm_status nm)"
vmotion abort nm > /tmp/nm.out 2>&1 || { cat /tmp/nm.out; fail "abort"; }
expect_eq "table after abort" "0 $len linear $(majmin $SRC) 0" "$(dmsetup table nm)"
# fio verified every write by reading it back through the device, from
# the source, before and after the kill
dmsetup remove nm
