#!/bin/bash
# vmotion migrate keeps metadata: at the destination's end by default (table line, header, record), on another disk with --metadata, none with --no-metadata or no room; too small, overlapping, on the source, the device itself or a disk in use refused, device unchanged; switch marks the header switched and a later migrate or dmsetup load naming it is refused; abort marks it aborted; two segments get two areas; metadata-size; bytes equal.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))
disk=$(sectors $DST)
va=$(majmin /dev/vda) vb=$(majmin /dev/vdb) vc=$(majmin /dev/vdc)
wipe $SRC $DST /dev/vdc /dev/vdd
fill $SRC $SRC_OFF $len 81
hdr() { "$REPO/tests/vmm-header" "$1" "$2" | awk -v f="$3" '$1 == f { print $2 }'; }
# 128 regions of 512 KiB: a header block and one block per bitmap
need=24
end=$(((disk - need) / 8 * 8))

log "metadata-size"
dmsetup create m --table "0 $len linear $SRC $SRC_OFF"
expect_eq "metadata-size" "m: $need sectors ($((need / 2)) KiB) of metadata for 1 segment with 512 KiB regions" \
	"$(vmotion metadata-size m)"
expect_eq "metadata-size, 4 KiB regions (32768 regions: 1 block per bitmap)" \
	"m: 24 sectors (12 KiB) of metadata for 1 segment with 4 KiB regions" "$(vmotion metadata-size --region-size 4K m)"
expect_eq "metadata-size, 4 KiB regions of 1 GiB (262144 regions: 8 blocks per bitmap)" 136 \
	"$(dmsetup create big --table "0 $((2048 * 1024)) zero" && vmotion metadata-size --region-size 4K big | awk '{ print $2 }'; dmsetup remove big)"

log "default: at the end of the destination"
vmotion migrate --no-switch m $DST > /tmp/m.out 2>&1 || { cat /tmp/m.out; fail "migrate m"; }
grep -q "^m: migrating to $DST (512 KiB regions), metadata on $DST at sector $end$" /tmp/m.out ||
	fail "no metadata line: $(cat /tmp/m.out)"
expect_eq "table" "0 $len vmotion $va $SRC_OFF $vb 0 1024 3 metadata $vb $end" "$(dmsetup table m)"
expect_eq "metadata field" ok "$(vm_field m 9)"
expect_eq "header state once in sync" 2 "$(hdr $DST $end state)"
expect_eq "header length" $len "$(hdr $DST $end length)"
expect_eq "header region size" 1024 "$(hdr $DST $end region_size)"
uuid=$(hdr $DST $end uuid)
grep -q "^segment.0.metadata_offset=$end$" /var/lib/vmotion/m.state || fail "record: $(cat /var/lib/vmotion/m.state)"
expect_eq "recorded uuid" "$uuid" "$(sed -n 's/^segment.0.metadata_uuid=//p' /var/lib/vmotion/m.state | tr -d -)"
same_range $SRC $SRC_OFF $DST 0 $len
# jst PATH: a value from vmotion status --json m (read once, by jsnap)
jsnap() { vmotion status --json m > /tmp/st.json || fail "status --json m"; }
jst() { python3 -c 'import json, sys; j = json.load(open("/tmp/st.json")); print(json.dumps(eval("j" + sys.argv[1])))' "$1"; }
vmotion status m | matches "^m: synced 100.0% (128/128 regions), .*, metadata ok (128 regions recorded in sync)$" ||
	fail "status: $(vmotion status m)"
jsnap
expect_eq "status --json: metadata" '"ok"' "$(jst '["devices"][0]["metadata"]')"
expect_eq "status --json: recorded regions" 128 "$(jst '["devices"][0]["metadata_recorded_regions"]')"
written=$(jst '["devices"][0]["segments"][0]["metadata"]["blocks_written"]')
[ "$written" -ge 1 ] || fail "blocks written: $written (the regions recorded in sync took one at least)"
expect_eq "status --json: the segment's metadata" \
	"{\"device\": \"$vb\", \"offset\": $end, \"state\": \"ok\", \"intent_bits\": 0, \"blocks_written\": $written, \"recorded_regions\": 128}" \
	"$(jst '["devices"][0]["segments"][0]["metadata"]')"

log "switch marks the header switched"
vmotion switch m > /tmp/sw.out 2>&1 || { cat /tmp/sw.out; fail "switch m"; }
expect_eq "table after the switch" "0 $len linear $vb 0" "$(dmsetup table m)"
expect_eq "header after the switch" 3 "$(hdr $DST $end state)"
expect_eq "same migration" "$uuid" "$(hdr $DST $end uuid)"
same_range $SRC $SRC_OFF /dev/mapper/m 0 $len
dmsetup remove m

log "a switched migration's metadata is refused: by migrate, by the kernel"
dmsetup create m --table "0 $len linear $SRC $SRC_OFF"
orig=$(dmsetup table m)
dst_sum=$(sum_range $DST 0 $len)
vmotion_refused m "$orig" 1 "$DST:$end records a switched migration ${uuid:0:8}-" migrate m $DST
rc=0
dmsetup reload m --table "0 $len vmotion $SRC $SRC_OFF $DST 0 1024 3 metadata $DST $end" 2> /tmp/load.out || rc=$?
[ $rc -ne 0 ] || fail "the kernel took a table naming switched metadata"
dmesg | matches "records a switched migration: the destination holds the data" || fail "no kernel message: $(dmesg | tail -3)"
dmsetup clear m
expect_eq "header still switched" 3 "$(hdr $DST $end state)"
expect_eq "destination untouched" "$dst_sum" "$(sum_range $DST 0 $len)"

log "--force starts over it; abort marks the new migration aborted"
vmotion migrate --force --rate 2M --no-switch m $DST > /tmp/f.out 2>&1 &
mig=$!
wait_migrating m
grep -q "overwriting switched migration" /tmp/f.out || { sleep 1; grep -q "overwriting switched migration" /tmp/f.out; } ||
	fail "no word of the overwrite: $(cat /tmp/f.out)"
[ "$(hdr $DST $end uuid)" != "$uuid" ] || fail "the new migration kept the old uuid"
expect_eq "new header copying" 1 "$(hdr $DST $end state)"
vmotion abort m > /tmp/ab.out 2>&1 || { cat /tmp/ab.out; fail "abort m"; }
wait $mig && fail "migrate exited 0 after an abort"
expect_eq "table after abort" "$orig" "$(dmsetup table m)"
expect_eq "header after abort" 4 "$(hdr $DST $end state)"
same_range $SRC $SRC_OFF /dev/mapper/m 0 $len

log "--metadata on another disk, with a size suffix"
wipe $DST
vmotion migrate --no-switch --metadata /dev/vdc:1M m $DST > /tmp/c.out 2>&1 || { cat /tmp/c.out; fail "migrate m --metadata"; }
expect_eq "table" "0 $len vmotion $va $SRC_OFF $vb 0 1024 3 metadata $vc 2048" "$(dmsetup table m)"
expect_eq "header on vdc" 2 "$(hdr /dev/vdc 2048 state)"
expect_eq "nothing at the destination's end" 0 "$(dd if=$DST bs=512 skip=$end count=8 iflag=direct status=none | tr -d '\0' | wc -c)"
vmotion switch m > /dev/null
expect_eq "header on vdc after the switch" 3 "$(hdr /dev/vdc 2048 state)"
same_range $SRC $SRC_OFF /dev/mapper/m 0 $len
dmsetup remove m

log "--no-metadata, and a destination with no room: in memory"
wipe $DST /dev/vdc
dmsetup create m --table "0 $len linear $SRC $SRC_OFF"
vmotion migrate --no-switch --no-metadata m $DST > /tmp/n.out 2>&1 || { cat /tmp/n.out; fail "migrate --no-metadata"; }
expect_eq "table" "0 $len vmotion $va $SRC_OFF $vb 0 1024" "$(dmsetup table m)"
expect_eq "metadata field" - "$(vm_field m 9)"
jsnap
expect_eq "status --json: no metadata" null "$(jst '["devices"][0]["metadata"]')"
expect_eq "status --json: the segment's metadata" null "$(jst '["devices"][0]["segments"][0]["metadata"]')"
vmotion status m | matches "metadata" && fail "status names metadata that is not kept: $(vmotion status m)"
vmotion abort m > /dev/null
dmsetup create exact --table "0 $len linear /dev/vdc 0"
vmotion migrate --no-switch m /dev/mapper/exact > /tmp/x.out 2>&1 || { cat /tmp/x.out; fail "migrate onto exact"; }
grep -q "^m: /dev/mapper/exact has no room past the migrated range for the $need sectors of metadata: progress will not survive a crash (--metadata DEV\[:OFFSET\] keeps it elsewhere)$" /tmp/x.out ||
	fail "no in-memory line: $(cat /tmp/x.out)"
expect_eq "table" "0 $len vmotion $va $SRC_OFF $(majmin /dev/mapper/exact) 0 1024" "$(dmsetup table m)"
vmotion abort m > /dev/null
dmsetup remove exact

log "refusals, the device unchanged"
orig=$(dmsetup table m)
vdc_sum=$(sum_range /dev/vdc 0 2048)$(sum_range /dev/vdc $((disk - 8)) 8)
vmotion_refused m "$orig" 1 "/dev/vdc: too small for the metadata: m needs $need sectors at offset $((disk - 8)), the device has $disk sectors" \
	migrate --metadata /dev/vdc:$((disk - 8)) m $DST
vmotion_refused m "$orig" 1 "/dev/vdb: the metadata (sectors 8-31) overlaps the destination's migrated range (sectors 0-$((len - 1)))" \
	migrate --metadata $DST:8 m $DST
vmotion_refused m "$orig" 1 "/dev/vda: the metadata (sectors 4096-4119) lies on the source's migrated range (sectors 2048-$((SRC_OFF + len - 1)) of segment 0)" \
	migrate --metadata $SRC:4096 m $DST
vmotion_refused m "$orig" 1 "/dev/mapper/m: the metadata device is m itself" \
	migrate --metadata /dev/mapper/m m $DST
dmsetup create hold --table "0 2048 linear /dev/vdd 0"
vmotion_refused m "$orig" 1 "/dev/vdd: the metadata device is in use" \
	migrate --metadata /dev/vdd m $DST
dmsetup remove hold
vmotion_refused m "$orig" 1 "/dev/vdc: metadata offset 9 is not a multiple of 4 KiB (8 sectors)" \
	migrate --metadata /dev/vdc:9 m $DST
vmotion_refused m "$orig" 2 "invalid metadata offset 'x1' in '/dev/vdc:x1'" \
	migrate --metadata /dev/vdc:x1 m $DST
expect_eq "vdc untouched by the refusals" "$vdc_sum" "$(sum_range /dev/vdc 0 2048)$(sum_range /dev/vdc $((disk - 8)) 8)"
# on the source, past the migrated range: taken
vmotion migrate --no-switch --metadata $SRC:$((SRC_OFF + len)) m $DST > /tmp/s.out 2>&1 || { cat /tmp/s.out; fail "migrate, metadata on the source"; }
expect_eq "header on the source" 2 "$(hdr $SRC $((SRC_OFF + len)) state)"
vmotion switch m > /dev/null
expect_eq "header on the source after the switch" 3 "$(hdr $SRC $((SRC_OFF + len)) state)"
same_range $SRC $SRC_OFF $DST 0 $len
dmsetup remove m

log "two segments: two areas, one after the other"
wipe $DST
s1=$((32 * 2048)) s2=$((16 * 2048))
need2=48
end2=$(((disk - need2) / 8 * 8))
dmsetup create two --table "0 $s1 linear $SRC $SRC_OFF
$s1 $s2 linear $SRC $((SRC_OFF + len))"
fill /dev/mapper/two $s1 $s2 82
expect_eq "metadata-size" "two: $need2 sectors ($((need2 / 2)) KiB) of metadata for 2 segments with 512 KiB regions" \
	"$(vmotion metadata-size two)"
vmotion migrate --no-switch two $DST > /tmp/t.out 2>&1 || { cat /tmp/t.out; fail "migrate two"; }
expect_eq "table" "0 $s1 vmotion $va $SRC_OFF $vb 0 1024 3 metadata $vb $end2
$s1 $s2 vmotion $va $((SRC_OFF + len)) $vb $s1 1024 3 metadata $vb $((end2 + 24))" "$(dmsetup table two)"
expect_eq "segment 0's header: length" $s1 "$(hdr $DST $end2 length)"
expect_eq "segment 1's header: length" $s2 "$(hdr $DST $((end2 + 24)) length)"
expect_eq "segment 1's header: destination offset" $s1 "$(hdr $DST $((end2 + 24)) dest_offset)"
sum=$(sum_range /dev/mapper/two 0 $((s1 + s2)))
vmotion switch two > /dev/null
expect_eq "segment 0's header after the switch" 3 "$(hdr $DST $end2 state)"
expect_eq "segment 1's header after the switch" 3 "$(hdr $DST $((end2 + 24)) state)"
expect_eq "data after the switch" "$sum" "$(sum_range /dev/mapper/two 0 $((s1 + s2)))"
same_range $SRC $SRC_OFF $DST 0 $s1
same_range $SRC $((SRC_OFF + len)) $DST $s1 $s2
dmsetup remove two
