#!/bin/bash
# vmotion status (text and JSON), pause/resume/rate/wait commands drive the target and report what it does.
. "$(dirname "$0")/../lib.sh"
load_vmotion

len=$((64 * 2048))
wipe $SRC $DST
fill $SRC $SRC_OFF $len 53
dmsetup create js --table "0 $len linear $SRC $SRC_OFF"
vmotion migrate --rate 2M --region-size 256K --no-switch js $DST > /tmp/m.out 2>&1 &
mig=$!
wait_migrating js
vmotion pause /dev/mapper/js
sleep 0.5
vmotion status js | matches "^js: paused " || fail "status: $(vmotion status js)"
vmotion rate js 512K
expect_eq "rate in the kernel" 512 "$(vm_field js 3)"
vmotion status --json > /tmp/s.json
python3 -m json.tool < /tmp/s.json > /dev/null || fail "invalid JSON: $(cat /tmp/s.json)"
python3 - "$(majmin $SRC)" "$(majmin $DST)" $len <<'PY' || fail "JSON: $(cat /tmp/s.json)"
import json, sys
src, dst, length = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = json.load(open("/tmp/s.json"))
devs = [d for d in doc["devices"] if d["name"] == "js"]
assert len(devs) == 1, devs
d = devs[0]
for k in ("name", "device", "state", "percent", "synced_regions", "total_regions",
          "size_bytes", "synced_bytes", "rate_kib_s", "copied_kib", "dest_errors",
          "source_errors", "held_writes", "eta_seconds", "segments"):
    assert k in d, k
assert d["state"] == "paused", d["state"]
assert d["rate_kib_s"] == 512, d["rate_kib_s"]
assert d["total_regions"] == length // 512, d["total_regions"]
assert 0 < d["percent"] < 100, d["percent"]
assert d["size_bytes"] == length * 512
assert d["eta_seconds"] is None          # paused: unknown
s = d["segments"][0]
assert (s["source"], s["source_offset"], s["dest"], s["dest_offset"], s["region_sectors"]) == \
    (src, 2048, dst, 0, 512), s
PY
vmotion resume js
vmotion status js | matches -E "^js: copying .*rate 512 KiB/s.*ETA [0-9]+s$" || fail "status: $(vmotion status js)"
vmotion rate js 0
# wait returns when synced, woken by the event
vmotion wait js || fail "wait exited $?"
expect_eq state synced "$(vm_state js)"
wait $mig || fail "migrate --no-switch exited $?"
grep -q "in sync; run 'vmotion switch js'" /tmp/m.out || fail "$(cat /tmp/m.out)"
same_range $SRC $SRC_OFF $DST 0 $len
vmotion status --json js | python3 -c 'import json,sys; d=json.load(sys.stdin)["devices"][0]; assert d["state"]=="synced" and d["percent"]==100 and d["eta_seconds"]==0, d'
rc=0; vmotion status nosuch > /dev/null 2>&1 || rc=$?
expect_eq "status of a missing device" 1 $rc
vmotion switch js
dmsetup remove js
