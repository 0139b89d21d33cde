#!/bin/bash
# vmotion restore: a migration started with --no-switch and a low rate, its vmotion table replaced by the plain linear table a boot configuration rebuilds, is loaded again with the same metadata and resumes where it stopped (the kernel's "N of M regions in sync" with N > 0, less copied than the whole), then waits for sync and, --no-switch recorded, does not switch; bytes equal after the switch; a finished record is left alone; a switched migration whose device was rebuilt on its source (a power cut before the boot configuration changed) is pointed at the destination again, when its metadata says it switched, and refused without it or against it; a switch killed after its metadata said switched is completed, one killed before is restored as in sync; a record at "switching" without metadata is not restored (exit 1); one whose disk is missing is skipped; bytes checked each time.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))
disk=$(sectors $DST)
end=$(((disk - 24) / 8 * 8))
wipe $SRC $DST /dev/vdc
fill $SRC $SRC_OFF $len 91
hdr() { "$REPO/tests/vmm-header" "$1" "$2" | awk -v f="$3" '$1 == f { print $2 }'; }
# what a boot configuration does: the device, linear on its source
rebuild() {
	dmsetup suspend "$1"
	dmsetup reload "$1" --table "$2"
	dmsetup resume "$1"
}
# restore_fails MESSAGE: vmotion restore exits 1 and says MESSAGE
restore_fails() {
	local rc=0
	vmotion restore > /tmp/restore.out 2>&1 || rc=$?
	expect_eq "restore's exit status" 1 $rc
	grep -qF -- "$1" /tmp/restore.out || fail "restore: $(cat /tmp/restore.out)"
}
# the same after a reboot: the device made anew (no I/O counted on it yet)
reboot_rebuild() {
	dmsetup remove "$1"
	dmsetup create "$1" --table "$2"
}

dmsetup create r --table "0 $len linear $SRC $SRC_OFF"
linear=$(dmsetup table r)
sum=$(sum_range /dev/mapper/r 0 $len)
env --default-signal vmotion migrate --no-switch --rate 4M r $DST > /tmp/r.out 2>&1 &
mig=$!
wait_migrating r
wait_synced_ge r 40
kill -INT $mig
rc=0
wait $mig || rc=$?
expect_eq "migrate's exit status after Ctrl-C" 130 $rc
uuid=$(hdr $DST $end uuid)

log "the device rebuilt linear on its source, as at boot"
rebuild r "$linear"
n=$(dd if=$DST bs=512 skip=$((end + 8)) count=8 iflag=direct status=none | tr -d '\0' | wc -c)
[ "$n" -gt 0 ] || fail "no region recorded in sync on disk"
expect_eq "header after the rebuild" 1 "$(hdr $DST $end state)"
grep -q "^state=migrating$" /var/lib/vmotion/r.state || fail "record: $(cat /var/lib/vmotion/r.state)"
grep -q "^no_switch=1$" /var/lib/vmotion/r.state || fail "record: $(cat /var/lib/vmotion/r.state)"
grep -q "^rate=4096$" /var/lib/vmotion/r.state || fail "record: $(cat /var/lib/vmotion/r.state)"

log "restore resumes it"
dmesg -C
vmotion restore > /tmp/restore.out 2>&1 || { cat /tmp/restore.out; fail "restore"; }
cat /tmp/restore.out
grep -q "^r: segment 0 resumes migration ${uuid:0:8}-.* from its metadata ($DST:$end, copying)$" /tmp/restore.out ||
	fail "restore did not say it resumes: $(cat /tmp/restore.out)"
grep -q "^r: in sync; run 'vmotion switch r' to move to the destination$" /tmp/restore.out ||
	fail "restore did not follow to sync, or switched: $(cat /tmp/restore.out)"
line=$(dmesg | grep -o "metadata [0-9a-f-]*: [0-9]* of 128 regions in sync" | tail -1)
[ -n "$line" ] || fail "no load message: $(dmesg | tail -5)"
log "kernel: $line"
loaded=$(echo "$line" | awk '{ print $3 }')
[ "$loaded" -gt 0 ] || fail "the reload resumed nothing: $line"
dmesg | matches "formatted metadata" && fail "restore formatted the metadata again"
expect_eq "same migration" "$uuid" "$(hdr $DST $end uuid)"
expect_eq "copied KiB: what was not in sync" $(((128 - loaded) * 512)) "$(vm_field r 4)"
expect_eq "rate as recorded" 4096 "$(vm_field r 3)"
expect_eq "state (--no-switch recorded)" synced "$(vm_state r)"
expect_eq "table" "0 $len vmotion $(majmin $SRC) $SRC_OFF $(majmin $DST) 0 1024 5 rate 4096 metadata $(majmin $DST) $end" "$(dmsetup table r)"
vmotion switch r > /dev/null
expect_eq "header after the switch" 3 "$(hdr $DST $end state)"
expect_eq "data after the switch" "$sum" "$(sum_range /dev/mapper/r 0 $len)"
same_range $SRC $SRC_OFF $DST 0 $len

log "a finished migration is left alone"
vmotion restore > /tmp/restore.out 2>&1 || { cat /tmp/restore.out; fail "restore with a finished record"; }
grep -q "^r: its migration to $DST ended (switched); nothing to restore$" /tmp/restore.out ||
	fail "restore: $(cat /tmp/restore.out)"
expect_eq "table" "0 $len linear $(majmin $DST) 0" "$(dmsetup table r)"
dmsetup remove r
rm /var/lib/vmotion/r.state

log "switched, then a power cut before the boot configuration changed: restore points the device at the destination"
wipe $DST
dmsetup create s --table "0 $len linear $SRC $SRC_OFF"
vmotion migrate s $DST > /tmp/s.out 2>&1 || { cat /tmp/s.out; fail "migrate s"; }
expect_eq "table after the switch" "0 $len linear $(majmin $DST) 0" "$(dmsetup table s)"
# written after the switch: on the destination alone
fill /dev/mapper/s 0 $((len / 2)) 92
after=$(sum_range /dev/mapper/s 0 $len)
src_sum=$(sum_range $SRC $SRC_OFF $len)
[ "$after" != "$src_sum" ] || fail "the source has the writes made after the switch"
reboot_rebuild s "$linear"
vmotion restore > /tmp/restore.out 2>&1 || { cat /tmp/restore.out; fail "restore, switched and rebuilt on the source"; }
grep -qF "s: switched to $DST before the system went down, and rebuilt linear on its source since, which lacks the writes made after the switch: pointed at $DST again, as the switch left it; the boot configuration must name $DST" /tmp/restore.out ||
	fail "restore: $(cat /tmp/restore.out)"
expect_eq "table" "0 $len linear $(majmin $DST) 0" "$(dmsetup table s)"
expect_eq "the data written after the switch" "$after" "$(sum_range /dev/mapper/s 0 $len)"
expect_eq "the source untouched" "$src_sum" "$(sum_range $SRC $SRC_OFF $len)"
vmotion restore > /tmp/restore.out 2>&1 || { cat /tmp/restore.out; fail "restore, again"; }
grep -q "^s: its migration to $DST ended (switched); nothing to restore$" /tmp/restore.out ||
	fail "restore, again: $(cat /tmp/restore.out)"

log "the same, written since it was made: refused, left as it is (each side holds writes the other lacks)"
reboot_rebuild s "$linear"
dd if=/dev/urandom of=/dev/mapper/s bs=4k count=1 oflag=direct status=none
restore_fails "s: switched to $DST before the system went down, but it is linear on its source again, and has been written since it was made"
expect_eq "s left as it was" "$linear" "$(dmsetup table s)"
src_sum=$(sum_range $SRC $SRC_OFF $len)

log "the same, the device open: refused, left as it is"
reboot_rebuild s "$linear"
exec 9< /dev/mapper/s
restore_fails "s: switched to $DST before the system went down, but it is linear on its source again, which lacks every write since, and it is in use (open 1 times): left as it is"
exec 9<&-
expect_eq "s left as it was" "$linear" "$(dmsetup table s)"

log "the same, with metadata that does not say switched: the stale source is not served (error table)"
"$REPO/tests/vmm-header" $DST $end state=synced
restore_fails "s: switched to $DST before the system went down, but it is linear on its source again, which lacks every write since, and segment 0's metadata ($DST:$end) does not say that migration switched: its table is now \"error\""
expect_eq "s's table" "0 $len error" "$(dmsetup table s | sed 's/ *$//')"
dd if=/dev/mapper/s of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null && fail "a read of s succeeded"
expect_eq "the source untouched" "$src_sum" "$(sum_range $SRC $SRC_OFF $len)"
"$REPO/tests/vmm-header" $DST $end state=switched
expect_eq "the destination untouched" "$after" "$(sum_range $DST 0 $len)"

log "the same, the destination missing: the stale source is not served"
reboot_rebuild s "$linear"
cp /var/lib/vmotion/s.state /tmp/s.state
sed -i -e 's|^dest_path=.*|dest_path=/dev/vdz|' -e 's/^dest_id=.*/dest_id=/' /var/lib/vmotion/s.state
restore_fails "and its destination (/dev/vdz) is not present: its table is now \"error\""
expect_eq "s's table" "0 $len error" "$(dmsetup table s | sed 's/ *$//')"
cp /tmp/s.state /var/lib/vmotion/s.state
dmsetup remove s

log "switched without metadata, rebuilt on the source: the stale source is not served"
wipe $DST
dmsetup create s --table "0 $len linear $SRC $SRC_OFF"
vmotion migrate --no-metadata s $DST > /tmp/s.out 2>&1 || { cat /tmp/s.out; fail "migrate s --no-metadata"; }
reboot_rebuild s "$linear"
restore_fails "and segment 0 kept no metadata to confirm the switch: its table is now \"error\""
expect_eq "s's table" "0 $len error" "$(dmsetup table s | sed 's/ *$//')"
dmsetup remove s

log "switched with its metadata on another disk, the destination without a stable identity: the stale source is not served"
wipe $DST /dev/vdc
dmsetup create s --table "0 $len linear $SRC $SRC_OFF"
vmotion migrate --metadata /dev/vdc s $DST > /tmp/s.out 2>&1 || { cat /tmp/s.out; fail "migrate s --metadata /dev/vdc"; }
grep -q "^dest_id=$" /var/lib/vmotion/s.state || fail "the destination has an identity here: $(grep dest_id /var/lib/vmotion/s.state)"
reboot_rebuild s "$linear"
restore_fails "and its destination ($DST) has no stable identity and no metadata on it to tell it from another disk: its table is now \"error\""
expect_eq "s's table" "0 $len error" "$(dmsetup table s | sed 's/ *$//')"
dmsetup remove s

# switch_killed POINT: a migration of s in sync, its switch killed at POINT,
# then the boot configuration's table
switch_killed() {
	wipe $DST
	dmsetup create s --table "0 $len linear $SRC $SRC_OFF"
	vmotion migrate --no-switch s $DST > /tmp/s.out 2>&1 || { cat /tmp/s.out; fail "migrate s"; }
	rc=0
	VMOTION_TEST_KILL=$1 vmotion switch s > /tmp/sw.out 2>&1 || rc=$?
	expect_eq "switch killed at $1" 137 $rc
	grep -q "^state=switching$" /var/lib/vmotion/s.state || fail "record: $(cat /var/lib/vmotion/s.state)"
	# a reboot: the suspended device goes with the machine
	dmsetup resume s
	reboot_rebuild s "$linear"
}

log "killed in the switch once the metadata said switched: restore points the device at the destination"
switch_killed switch-marked
expect_eq "header" 3 "$(hdr $DST $end state)"
vmotion restore > /tmp/restore.out 2>&1 || { cat /tmp/restore.out; fail "restore, switch killed after the mark"; }
grep -qF "s: was switching to $DST when the system went down; its metadata says the switch was made" /tmp/restore.out ||
	fail "restore: $(cat /tmp/restore.out)"
expect_eq "table" "0 $len linear $(majmin $DST) 0" "$(dmsetup table s)"
grep -q "^state=switched$" /var/lib/vmotion/s.state || fail "record not settled: $(cat /var/lib/vmotion/s.state)"
same_range $SRC $SRC_OFF /dev/mapper/s 0 $len
dmsetup remove s

log "killed in the switch before the metadata said switched: the migration is restored"
switch_killed switch-suspended
expect_eq "header" 2 "$(hdr $DST $end state)"
vmotion restore > /tmp/restore.out 2>&1 || { cat /tmp/restore.out; fail "restore, switch killed before the mark"; }
grep -qF "s: was switching to $DST when the system went down; its metadata says the switch was not made: the migration is restored" /tmp/restore.out ||
	fail "restore: $(cat /tmp/restore.out)"
grep -q "^s: in sync; run 'vmotion switch s' to move to the destination$" /tmp/restore.out ||
	fail "restore did not follow to sync: $(cat /tmp/restore.out)"
grep -q "^state=migrating$" /var/lib/vmotion/s.state || fail "record: $(cat /var/lib/vmotion/s.state)"
expect_eq "copied after the restore: nothing" 0 "$(vm_field s 4)"
vmotion switch s > /dev/null || fail "switch s after the restore"
same_range $SRC $SRC_OFF /dev/mapper/s 0 $len
dmsetup remove s

log "a record at switching without metadata is not restored"
wipe $DST
dmsetup create s --table "0 $len linear $SRC $SRC_OFF"
vmotion migrate --no-switch --no-metadata s $DST > /tmp/s.out 2>&1 || { cat /tmp/s.out; fail "migrate s"; }
rebuild s "$linear"
sed -i 's/^state=.*/state=switching/' /var/lib/vmotion/s.state
restore_fails "s: not restoring: its record says it was switching to $DST ("
grep -qF "and no metadata says whether it switched" /tmp/restore.out || fail "restore: $(cat /tmp/restore.out)"
expect_eq "s left as it was" "$linear" "$(dmsetup table s)"

log "a migration whose disk is missing is skipped"
sed -i -e 's/^state=.*/state=migrating/' -e 's|^dest_path=.*|dest_path=/dev/vdz|' -e 's/^dest_id=.*/dest_id=/' \
	/var/lib/vmotion/s.state
vmotion restore > /tmp/restore.out 2>&1 || { cat /tmp/restore.out; fail "restore with a disk missing"; }
grep -qF "s: not restoring: its destination (/dev/vdz) is not present" /tmp/restore.out ||
	fail "restore: $(cat /tmp/restore.out)"
expect_eq "s left as it was" "$linear" "$(dmsetup table s)"
dmsetup remove s
