# shellcheck shell=bash
# null_blk disks that saturate before the CPU does, for the bench's null_blk
# rig (tools/bench/rigs.sh) and the integration scenarios that need one:
# sourced.  NULLB_MBPS (MiB/s, reads and writes together) and NULLB_LAT_US
# (each request's completion latency) must be set when a device is made.
nullb_dir=/sys/kernel/config/nullb
# nullb_load: null_blk loaded without devices of its own, configfs mounted
nullb_load() {
	modprobe null_blk nr_devices=0
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
}
# nullb_create NAME MIB: a memory-backed null_blk device /dev/NAME (the
# configfs item's name)
nullb_create() {
	local d=$nullb_dir/$1
	mkdir "$d"
	echo "$2" > "$d/size"
	echo 2 > "$d/queue_mode"		# blk-mq
	echo 1 > "$d/memory_backed"
	# null_blk's bandwidth limit holds back a request bigger than a tick's
	# share (1/50 s) for ever: requests of at most 128 KiB, no discards
	echo 0 > "$d/discard"
	echo 256 > "$d/max_sectors"
	echo 512 > "$d/blocksize"
	echo 64 > "$d/hw_queue_depth"
	echo 2 > "$d/irqmode"			# completions from a timer ...
	echo $((NULLB_LAT_US * 1000)) > "$d/completion_nsec"	# ... this late
	echo "$NULLB_MBPS" > "$d/mbps"
	echo 1 > "$d/power"
	# the node: udev's where it runs, made here where it does not
	udevadm settle 2>/dev/null || true
	if [ ! -b "/dev/$1" ] && [ -r "/sys/block/$1/dev" ]; then
		IFS=: read -r major minor < "/sys/block/$1/dev"
		mknod "/dev/$1" b "$major" "$minor"
	fi
	[ -b "/dev/$1" ] || { echo "null_blk: /dev/$1 did not appear" >&2; exit 1; }
}
nullb_remove() {
	local n
	for n in nullb0 nullb1; do
		[ -d "$nullb_dir/$n" ] || continue
		echo 0 > "$nullb_dir/$n/power"
		rmdir "$nullb_dir/$n"
		# a node made here for a device gone
		[ -e "/sys/block/$n" ] || rm -f "/dev/$n"
	done
}
