# Slow destinations for integration scenarios; source after tests/lib.sh.
#
# A distant destination disk: nbd_dest_start serves a block device with
# nbd-server from network namespace $NBD_NS, over a veth pair with netem
# delay on both ends (round trip = 2 x the one-way delay), and connects it
# as $NBD_DEV in the main namespace.  nbd_dest_kill kills the server the
# hard way (a destination that dies); nbd_dest_stop undoes everything, and
# is safe to call twice, after a kill, or before a start (leftovers from a
# scenario that failed half way).  A scenario calls it from a trap:
#	trap nbd_dest_stop EXIT
#
# A quick one: delay_dest_start puts dm-delay ($DELAY_DEV) over a range of
# a disk, writes and flushes delayed, reads not.
# shellcheck shell=bash

NBD_NS=vmdst NBD_DEV=/dev/nbd0 NBD_PORT=10809
NBD_HOST_IP=10.251.0.1 NBD_PEER_IP=10.251.0.2
NBD_DIR=/tmp/nbd-dest
# 512, as the virtio disks: dm-vmotion refuses a destination whose logical
# blocks are larger than the source's
NBD_BLOCK_SIZE=${NBD_BLOCK_SIZE:-512}
# Seconds before a request with no answer fails with EIO.  Requests in
# flight when the server dies only end this way (new ones fail at once);
# without a timeout they would hang for good.  Not too short: a full queue
# over the slow link must not time out while the server is well.
NBD_TIMEOUT=${NBD_TIMEOUT:-10}

# nbd_dest_start BACKING_DEV [ONE_WAY_DELAY_MS]: sets NBD_DEV
nbd_dest_start() {
	local backing=$1 delay=${2:-75} i
	nbd_dest_stop
	modprobe nbd nbds_max=2 || fail "modprobe nbd"
	modprobe veth || fail "modprobe veth"
	modprobe sch_netem || fail "modprobe sch_netem"
	[ -b "$NBD_DEV" ] || fail "no $NBD_DEV after modprobe nbd"
	# a disconnected nbd device still open (a dm table on it) keeps its
	# old connection, and a new one fails ("nbd0 already in use")
	[ -z "$(ls /sys/block/${NBD_DEV#/dev/}/holders)" ] ||
		fail "$NBD_DEV is still held by $(ls /sys/block/${NBD_DEV#/dev/}/holders): remove the devices on it before nbd_dest_stop"
	mkdir -p "$NBD_DIR"
	{
		ip netns add "$NBD_NS" &&
		ip link add vmdst0 type veth peer name vmdst1 netns "$NBD_NS" &&
		ip addr add "$NBD_HOST_IP/30" dev vmdst0 &&
		ip link set vmdst0 up &&
		ip -n "$NBD_NS" link set lo up &&
		ip -n "$NBD_NS" addr add "$NBD_PEER_IP/30" dev vmdst1 &&
		ip -n "$NBD_NS" link set vmdst1 up
	} || fail "nbd_dest_start: network namespace"
	# netem holds each packet for the delay; its default limit, 1000
	# packets (1.4 MB), is about what the link carries in 75 ms with
	# default TCP buffers (17 MB/s), and it drops beyond: room for more
	tc qdisc add dev vmdst0 root netem delay "${delay}ms" limit 100000 ||
		fail "nbd_dest_start: netem"
	tc -n "$NBD_NS" qdisc add dev vmdst1 root netem delay "${delay}ms" limit 100000 ||
		fail "nbd_dest_start: netem in $NBD_NS"
	# no user/group: the server runs as root to open the block device.
	# flush and fua: they reach the backing device (fdatasync) as they
	# would on a real disk; trim: discards do too.
	cat > "$NBD_DIR/config" <<-EOF
	[generic]
		listenaddr = $NBD_PEER_IP
		port = $NBD_PORT
	[dst]
		exportname = $backing
		flush = true
		fua = true
		trim = true
	EOF
	# -d: no daemon and no fork per connection, so the pid recorded is the
	# one serving the client (ip netns exec execs it: $! is nbd-server)
	ip netns exec "$NBD_NS" nbd-server -d -C "$NBD_DIR/config" \
		> "$NBD_DIR/server.log" 2>&1 < /dev/null &
	echo $! > "$NBD_DIR/server.pid"
	for ((i = 0; i < 100; i++)); do
		ss -N "$NBD_NS" -ltn "sport = :$NBD_PORT" | matches LISTEN && break
		kill -0 "$(cat "$NBD_DIR/server.pid")" 2>/dev/null ||
			fail "nbd-server exited: $(cat "$NBD_DIR/server.log")"
		sleep 0.1
	done
	# netlink (the default): nbd-client configures the device and exits
	nbd-client "$NBD_PEER_IP" "$NBD_PORT" "$NBD_DEV" -N dst \
		-b "$NBD_BLOCK_SIZE" -t "$NBD_TIMEOUT" > "$NBD_DIR/client.log" 2>&1 ||
		fail "nbd-client: $(cat "$NBD_DIR/client.log"); server: $(cat "$NBD_DIR/server.log")"
	[ "$(blockdev --getsize64 "$NBD_DEV")" = "$(blockdev --getsize64 "$backing")" ] ||
		fail "$NBD_DEV has $(blockdev --getsize64 "$NBD_DEV") bytes, $backing $(blockdev --getsize64 "$backing")"
}

# nbd_dest_kill: the destination dies: SIGKILL to the server, its kernel
# closes the connection.  New I/O to $NBD_DEV fails at once with EIO, I/O
# that was in flight after NBD_TIMEOUT seconds.
nbd_dest_kill() {
	local pid i
	pid=$(cat "$NBD_DIR/server.pid" 2>/dev/null) || return 0
	kill -KILL "$pid" 2>/dev/null || true
	# reaped if it is our child; else gone once /proc says so (a zombie
	# no longer holds the socket)
	wait "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		[ -e "/proc/$pid" ] || break
		[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
		sleep 0.1
	done
	rm -f "$NBD_DIR/server.pid"
}

# nbd_dest_hang: the link goes silent (every packet to the server dropped,
# no FIN, no RST): I/O to $NBD_DEV, in flight or new, fails with EIO after
# NBD_TIMEOUT seconds; from then on at once.
nbd_dest_hang() {
	tc qdisc change dev vmdst0 root netem loss 100%
}

# nbd_dest_stop: disconnect, stop the server, remove the namespace
nbd_dest_stop() {
	local pid
	# (a no-op on a device not connected)
	[ ! -b "$NBD_DEV" ] || timeout 60 nbd-client -d "$NBD_DEV" > /dev/null 2>&1 || true
	nbd_dest_kill
	# anything else left in the namespace by an earlier run
	for pid in $(ip netns pids "$NBD_NS" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	ip link del vmdst0 2>/dev/null || true
	ip netns del "$NBD_NS" 2>/dev/null || true
	rm -rf "$NBD_DIR"
}

# delay_dest_start DEV OFFSET SECTORS [MS]: $DELAY_DEV, SECTORS of DEV from
# OFFSET; writes (and discards, which dm-delay counts as writes) and
# flushes take MS, reads go straight through
# shellcheck disable=SC2034 # for the scenarios
DELAY_DEV=/dev/mapper/slowdst
delay_dest_start() {
	local dev=$1 off=$2 len=$3 ms=${4:-75}
	modprobe dm-delay || fail "modprobe dm-delay"
	delay_dest_stop
	# three classes (6.1 has them): read, write, flush
	dmsetup create slowdst --table \
		"0 $len delay $dev $off 0 $dev $off $ms $dev $off $ms" || fail "dm-delay over $dev"
}

delay_dest_stop() {
	if dmsetup info slowdst > /dev/null 2>&1; then
		dmsetup remove slowdst
	fi
}
