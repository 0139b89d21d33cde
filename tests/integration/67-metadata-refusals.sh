#!/bin/bash
# Metadata refused with its own message and nothing changed: bad arguments, too small, overlaps, bad magic, torn or corrupted header, unknown version, other geometry, switched; a metadata device that fails fails the migration, the application unharmed.
. "$(dirname "$0")/../lib.sh"
load_vmotion

MD=/dev/vdc
len=$((32 * 2048))
wipe $SRC $DST $MD
fill $SRC $SRC_OFF $len 41
hdr() { "$REPO/tests/vmm-header" $MD 0; }

# refused LINE MESSAGE: loading LINE on the linear device "rf" fails, the
# kernel says MESSAGE, and rf keeps its linear table, live
dmsetup create rf --table "0 $len linear $SRC $SRC_OFF"
linear=$(dmsetup table rf)
refused() {
	local line=$1 msg=$2
	dmesg -C
	if dmsetup reload rf --table "$line" 2> /tmp/err; then
		dmsetup clear rf
		fail "'$line' was accepted"
	fi
	dmesg | matches -F "$msg" || fail "'$line': expected '$msg' in the kernel log, got: $(dmesg | tail -3)"
	expect_eq "table after refusing '$line'" "$linear" "$(dmsetup table rf)"
	dmsetup info rf | matches "Tables present: *LIVE$" || fail "'$line' left an inactive table"
}
base="0 $len vmotion $SRC $SRC_OFF $DST $DST_OFF 2048"

log "bad arguments"
refused "$base 1 metadata" "Feature argument 'metadata' needs a device and an offset"
refused "$base 2 metadata $MD" "Feature argument 'metadata' needs a device and an offset"
refused "$base 3 metadata $MD x1" "Invalid metadata offset"
refused "$base 3 metadata $MD 1" "Metadata offset not 4 KiB aligned"
refused "$base 3 metadata /dev/nonexistent 0" "Error opening metadata device"
refused "$base 6 metadata $MD 0 metadata $MD 64" "Duplicate feature argument 'metadata'"
mdsize=$(( $(sectors $MD) ))
refused "$base 3 metadata $MD $((mdsize - 16))" "Metadata device is too small for offset + metadata size"
refused "$base 3 metadata $MD $((mdsize + 8))" "Metadata device is too small for offset + metadata size"
refused "$base 3 metadata $DST $((DST_OFF + len - 8))" "Metadata overlaps the destination's migrated range"
refused "$base 3 metadata $DST $((DST_OFF - 8))" "Metadata overlaps the destination's migrated range"
refused "$base 3 metadata $SRC $SRC_OFF" "Metadata overlaps the source's migrated range"
expect_eq "nothing written to the metadata device" 0 "$(dd if=$MD bs=1M count=1 iflag=direct status=none | tr -d '\0' | wc -c)"

log "metadata past the destination's range is fine"
dmsetup reload rf --table "$base 3 metadata $DST $((DST_OFF + len))"
dmsetup resume rf
wait_state rf synced 120
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup reload rf --table "$linear"
dmsetup resume rf

log "a valid header to break in turn"
dmsetup reload rf --table "$base 3 metadata $MD 0"
dmsetup resume rf
wait_state rf synced 120
dmsetup reload rf --table "$linear"
dmsetup resume rf
good=$(hdr)
save=/tmp/md-good.img
dd if=$MD of=$save bs=4k count=3 iflag=direct status=none
restore_md() { dd if=$save of=$MD bs=4k oflag=direct status=none; }
# broken WHAT MESSAGE: after breaking the header, loading is refused with
# MESSAGE and the header is left as it was
broken() {
	local before
	before=$(dd if=$MD bs=4k count=1 iflag=direct status=none | md5sum)
	refused "$base 3 metadata $MD 0" "$2"
	expect_eq "header after refusing $1" "$before" "$(dd if=$MD bs=4k count=1 iflag=direct status=none | md5sum)"
	restore_md
}

dd if=/dev/urandom of=$MD bs=4k count=1 oflag=direct status=none
broken "a bad magic" "Metadata has no vmotion header (bad magic)"
"$REPO/tests/vmm-header" $MD 0 --raw generation=77
broken "a corrupted header" "Metadata header checksum is wrong (torn or corrupted header)"
# torn: the first half of the sector from a newer write, the second from the old one
"$REPO/tests/vmm-header" $MD 0 generation=99 dest_size=12345
dd if=$MD of=/tmp/torn.blk bs=4k count=1 iflag=direct status=none
dd if=$save of=/tmp/torn.blk bs=64 skip=1 seek=1 count=7 conv=notrunc status=none
dd if=/tmp/torn.blk of=$MD bs=4k oflag=direct status=none
broken "a torn header" "Metadata header checksum is wrong (torn or corrupted header)"
"$REPO/tests/vmm-header" $MD 0 version=2
broken "an unknown version" "Metadata version is not supported"
dmesg | matches "metadata version 2, this module knows 1" || fail "version not named in the log"
"$REPO/tests/vmm-header" $MD 0 state=9
broken "an unknown state" "Metadata header has an unknown state"
dmesg | matches "metadata state 9 is unknown" || fail "state not named in the log"
"$REPO/tests/vmm-header" $MD 0 flags=4
broken "unknown flags" "Metadata header has unknown flags"
"$REPO/tests/vmm-header" $MD 0 region_size=4096
broken "another region size" "Metadata was made for another region size"
dmesg | matches "metadata was made for region size 4096, the table has 2048" || fail "values not in the log"
"$REPO/tests/vmm-header" $MD 0 length=$((len * 2))
broken "another length" "Metadata was made for another length"
"$REPO/tests/vmm-header" $MD 0 dest_offset=0
broken "another destination offset" "Metadata was made for another destination offset"
"$REPO/tests/vmm-header" $MD 0 source_offset=0
broken "another source offset" "Metadata was made for another source offset"
"$REPO/tests/vmm-header" $MD 0 state=switched
broken "a switched migration" "Metadata records a switched migration (the destination holds the data)"
expect_eq "header restored" "$good" "$(hdr)"
# the informative sizes may differ: a device may grow
"$REPO/tests/vmm-header" $MD 0 dest_size=1 source_size=2
dmsetup reload rf --table "$base 3 metadata $MD 0"
dmsetup resume rf
wait_state rf synced 60
expect_eq "resumed in sync: nothing copied" 0 "$(vm_field rf 4)"
dmsetup reload rf --table "$linear"
dmsetup resume rf

log "the header changes while the device is suspended"
dmsetup reload rf --table "$base 3 metadata $MD 0"
dmsetup resume rf
wait_state rf synced 60
dmsetup suspend rf
"$REPO/tests/vmm-header" $MD 0 state=switched
dmesg -C
dmsetup resume rf 2> /tmp/err && fail "resumed on the source although the metadata says switched"
dmesg | matches "metadata records a switched migration: the destination holds the data, not resuming on the source" ||
	fail "no message: $(dmesg | tail -3)"
dmsetup info rf | matches "State: *SUSPENDED" || fail "not suspended"
"$REPO/tests/vmm-header" $MD 0 state=synced
dmsetup resume rf
expect_eq "metadata kept after the switch was backed out" ok "$(vm_field rf 9)"
dmsetup suspend rf
"$REPO/tests/vmm-header" $MD 0 state=aborted
dmsetup resume rf
expect_eq "metadata after an abort was recorded" off "$(vm_field rf 9)"
expect_eq "header left aborted" 4 "$("$REPO/tests/vmm-header" $MD 0 | awk '$1 == "state" { print $2 }')"
dmsetup reload rf --table "$linear"
dmsetup resume rf
log "an area abandoned between the load and the resume is formatted at the resume"
wipe $DST
dmsetup reload rf --table "$base 3 metadata $MD 0"
uuid=$("$REPO/tests/vmm-header" $MD 0 | awk '$1 == "uuid" { print $2 }')
"$REPO/tests/vmm-header" $MD 0 state=aborted
dmesg -C
dmsetup resume rf
dmesg | matches "records an aborted migration: starting a new one" || fail "no format at the resume: $(dmesg | tail -3)"
[ "$("$REPO/tests/vmm-header" $MD 0 | awk '$1 == "uuid" { print $2 }')" != "$uuid" ] || fail "same uuid"
wait_state rf synced 120
expect_eq "copied: everything" $((32 * 1024)) "$(vm_field rf 4)"
same_range $SRC $SRC_OFF $DST $DST_OFF $len
dmsetup reload rf --table "$linear"
dmsetup resume rf

log "a metadata device that fails: the migration fails, the application goes on"
wipe $DST $MD
dmsetup create mdd --table "0 2048 linear $MD 0"
start_migration fm $len 2048 rate 2048 metadata /dev/mapper/mdd 0
for ((i = 0; i < 300; i++)); do
	[ "$(vm_status fm | cut -d/ -f1)" -ge 4 ] && break
	sleep 0.1
done
fio_loop_start fm /dev/mapper/fm 32M 4k
sleep 1
dmsetup suspend mdd
dmsetup reload mdd --table "0 2048 error"
dmsetup resume mdd
wait_state fm failed 60
expect_eq "metadata field" error "$(vm_field fm 9)"
dmesg | matches "metadata no longer kept: cannot write the metadata" || fail "no message: $(dmesg | tail -5)"
sleep 2
fio_loop_stop fm
[ "$(vm_field fm 6)" = 0 ] || fail "source errors: $(vm_status fm)"
dmsetup remove fm
dmsetup remove mdd

log "a metadata device that cannot be read is refused at load"
dmsetup create mdd --table "0 2048 error"
refused "$base 3 metadata /dev/mapper/mdd 0" "Cannot read the metadata header"
dmsetup remove mdd
dmsetup remove rf
