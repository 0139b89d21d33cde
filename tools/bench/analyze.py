#!/usr/bin/env python3
"""Turn a dm-vmotion benchmark run (events.tsv, fio per-I/O latency logs)
into bench-results.md and gnuplot PNGs.

usage: analyze.py OUT SIZE_MIB REGION_SECTORS
       analyze.py --rigs OUT RIG...   (OUT/RIG/ each a run: one report with
                                       the rigs' goals side by side)
"""
import collections
import os
import platform
import subprocess
import sys
import time


def combine(out, rigs):
    """OUT/bench-results.md: each rig's goals (OUT/RIG/goals.tsv) in a column,
    then each rig's report linked."""
    goals = collections.OrderedDict()   # measure -> (goal, {rig: (value, met)})
    descs = {}
    for rig in rigs:
        path = os.path.join(out, rig, "goals.tsv")
        if not os.path.exists(path):
            descs[rig] = f"{rig}: no results (the run did not finish)"
            continue
        with open(path) as f:
            for line in f:
                measure, value, goal, met = line.rstrip("\n").split("\t")
                if measure == "rig":
                    descs[rig] = value
                    continue
                goals.setdefault(measure, (goal, {}))[1][rig] = (value, met)
    # the machine as the first rig's report names it (the guest's)
    machine = f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, kernel {platform.release()}"
    for rig in rigs:
        path = os.path.join(out, rig, "bench-results.md")
        if os.path.exists(path):
            with open(path) as f:
                machine = next((l.rstrip("\n") for l in f if l.startswith("- machine:")), machine)
            break
    lines = [f"# dm-vmotion benchmark, {time.strftime('%Y-%m-%d')}", "", machine, ""]
    lines += ["## Rigs", ""]
    lines += [f"- [{rig}]({rig}/bench-results.md): {descs.get(rig, rig).split(': ', 1)[-1]}"
              for rig in rigs]
    lines += ["", "## Goals, rig by rig", "",
              "Paired runs against dm-mirror at the default settings (see each rig's report"
              " for the runs); a value is the ratio or measure, then whether it meets the goal.",
              "", "| measure | goal | " + " | ".join(rigs) + " |",
              "|---|---|" + "---|" * len(rigs)]
    for measure, (goal, by_rig) in goals.items():
        cells = [f"{by_rig[r][0]} ({by_rig[r][1]})" if r in by_rig else "-" for r in rigs]
        lines.append(f"| {measure} | {goal} | " + " | ".join(cells) + " |")
    lines.append("")
    with open(os.path.join(out, "bench-results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if sys.argv[1] == "--rigs":
    combine(sys.argv[2], sys.argv[3:])
    sys.exit(0)

out, size_mib, region = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
BUCKET_MS = 500

# events[(system, load)][event] = (epoch_ms, value)
events = collections.defaultdict(dict)
with open(os.path.join(out, "events.tsv")) as f:
    for line in f:
        system, load, name, ms, value = (line.rstrip("\n").split("\t") + [""])[:5]
        events[(system, load)][name] = (int(ms), value)


def secs(key, a="start", b="sync"):
    e = events.get(key, {})
    if a in e and b in e:
        return (e[b][0] - e[a][0]) / 1000.0
    return None


def lat_log(name):
    """[(epoch_ms, latency_us)] of every I/O of a fio run."""
    path = os.path.join(out, name + "_lat.1.log")
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            p = line.split(",")
            if len(p) >= 2:
                rows.append((int(p[0]), int(p[1]) / 1000.0))
    return rows


def window(rows, t0, t1):
    return [lat for t, lat in rows if t0 <= t < t1]


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def stats(rows, t0, t1):
    lats = window(rows, t0, t1)
    dur = (t1 - t0) / 1000.0
    if not lats or dur <= 0:
        return None
    return {"iops": len(lats) / dur, "p50": pct(lats, 50), "p99": pct(lats, 99),
            "p999": pct(lats, 99.9), "max": max(lats)}


def cpu_idle(e):
    """The CPUs' idle share (percent, iowait included) from start to sync."""
    if "cpu_start" not in e or "cpu_sync" not in e:
        return None
    i0, t0 = map(int, e["cpu_start"][1].split())
    i1, t1 = map(int, e["cpu_sync"][1].split())
    return 100.0 * (i1 - i0) / (t1 - t0) if t1 > t0 else None


def disk_rates(e):
    """MiB/s the source and the destination moved from start to sync, each
    as (read + written, read, written), from their block layer statistics."""
    if "disk_start" not in e or "disk_sync" not in e:
        return None
    s0, s1 = e["disk_start"], e["disk_sync"]
    dur = (s1[0] - s0[0]) / 1000.0
    a, b = list(map(int, s0[1].split())), list(map(int, s1[1].split()))
    if dur <= 0 or len(a) != 4 or len(b) != 4:
        return None
    mib = [(y - x) / 2048.0 / dur for x, y in zip(a, b)]
    return [(mib[0] + mib[1], mib[0], mib[1]), (mib[2] + mib[3], mib[2], mib[3])]


def fmt_rate(r):
    return "-" if r is None else f"{r[0]:.1f} ({r[1]:.1f} + {r[2]:.1f})"


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def short(r):
    """How many fewer I/Os (thousands) the load completed during the
    migration than at its linear rate over the same time."""
    if not (r and r["time"] and r["during"] and r["baseline"]):
        return None
    return (r["baseline"]["iops"] - r["during"]["iops"]) * r["time"] / 1000.0


raw_dd, raw_pipe = secs(("raw-dd", "idle")), secs(("raw-pipe", "idle"))
raw = min((t for t in (raw_dd, raw_pipe) if t), default=None)
loads = sorted({load for (system, load) in events if system == "vmotion" and load != "idle"})
rows = []
series = {}     # (system, load) -> [(t_rel_s, iops, avg_lat_ms)]
marks = {}      # (system, load) -> {event: t_rel_s}

for (system, load), e in sorted(events.items()):
    if system in ("raw-dd", "raw-pipe", "slow"):
        continue
    log = lat_log(f"{system}-{load}") if load != "idle" else []
    row = {"system": system, "load": load, "time": None, "during": None,
           "baseline": None, "switch_ms": None, "switch_worst": None, "idle": cpu_idle(e),
           "disks": disk_rates(e)}
    if system == "linear":
        t0, t1 = e["start"][0] + 1000, e["end"][0]
        row["during"] = stats(log, t0, t1)
        start = e["start"][0]
    else:
        row["time"] = secs((system, load))
        start = e["start"][0]
        if log and "sync" in e:
            row["during"] = stats(log, start, e["sync"][0])
        base = events.get(("linear", load))
        if base:
            blog = lat_log(f"linear-{load}")
            # up to the last I/O: fio exits a little before the end event
            end = min(base["end"][0], blog[-1][0] + 1) if blog else base["end"][0]
            row["baseline"] = stats(blog, base["start"][0] + 1000, end)
        if "switch" in e:
            row["switch_ms"] = float(e["switch"][1] or "nan")
            lats = window(log, e["switch_begin"][0] - 500, e["switch"][0] + 1000)
            row["switch_worst"] = max(lats) / 1000.0 if lats else None
    rows.append(row)
    if log:
        buckets = collections.defaultdict(list)
        for t, lat in log:
            buckets[(t - start) // BUCKET_MS].append(lat)
        series[(system, load)] = [
            (b * BUCKET_MS / 1000.0, len(v) * 1000.0 / BUCKET_MS, sum(v) / len(v) / 1000.0)
            for b, v in sorted(buckets.items()) if b >= -4]
        marks[(system, load)] = {k: (v[0] - start) / 1000.0 for k, v in e.items()
                                 if k in ("sync", "switch")}

# ---------------------------------------------------------------- report
nr_regions = (size_mib * 2048 + region - 1) // region


def bitmap_bytes(regions):
    """dm_vmb_mem_bytes(): three bitmaps (in sync, written in two generations)."""
    return 3 * ((regions + 63) // 64 * 8)


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} TiB"


def get(system, load):
    for r in rows:
        if r["system"] == system and r["load"] == load:
            return r
    return None


lines = []
w = lines.append
kernel = platform.release()
w(f"# dm-vmotion benchmark, {time.strftime('%Y-%m-%d')}")
w("")
w(f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, kernel {kernel}"
  + (" (QEMU TCG guest)" if os.environ.get("VM_GUEST") else ""))
if os.environ.get("RIG_DESC"):
    w(f"- rig {os.environ['RIG_DESC']}")
w(f"- data size: {size_mib} MiB, region size: {region} sectors ({region // 2} KiB), "
  f"dm-mirror region size the same")
w(f"- raw copy limit (dd O_DIRECT 1 MiB, the faster of one dd ({fmt(raw_dd)} s) and a reader"
  f" and a writer in a pipe ({fmt(raw_pipe)} s)): {fmt(raw)} s"
  + (f" = {size_mib / raw:.1f} MiB/s" if raw else ""))
w("")
w("## Migration time and foreground load")
w("")
w("Times in seconds; latencies in ms; IOPS during the migration are counted"
  " from the per-I/O fio log between the start of the migration and sync;"
  " CPU idle: the guest's CPUs idle (or waiting for I/O) over the same time;"
  " source and destination: MiB/s each disk moved over the same time, read + written"
  " (its block layer statistics: the application's I/O and the copy's together).")
w("")
w("| system | load | migration time | / raw copy | IOPS during | IOPS baseline (linear) "
  "| during / baseline | p50 | p99 | p99.9 | CPU idle % | source MiB/s | destination MiB/s |")
w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["system"] == "linear" or r["system"].startswith(("vmotion-share-", "dm-mirror-pair-",
                                                           "vmotion-md", "vmotion-nomd",
                                                           "vmotion-target-", "dm-mirror-tpair-")):
        continue
    d, b = r["during"], r["baseline"]
    ratio = (d["iops"] / b["iops"]) if d and b and b["iops"] else None
    w(f"| {r['system']} | {r['load']} | {fmt(r['time'])} | "
      f"{fmt(r['time'] / raw if r['time'] and raw else None, 2)} | "
      f"{fmt(d and d['iops'], 0)} | {fmt(b and b['iops'], 0)} | {fmt(ratio, 2)} | "
      f"{fmt(d and d['p50'] / 1000, 2)} | {fmt(d and d['p99'] / 1000, 2)} | "
      f"{fmt(d and d['p999'] / 1000, 2)} | {fmt(r['idle'], 0)} | "
      f"{fmt_rate(r['disks'] and r['disks'][0])} | {fmt_rate(r['disks'] and r['disks'][1])} |")
w("")
# ---- the three systems side by side, load by load
cmp_loads = [l for l in ["idle"] + loads
             if get("dm-mirror", l) or get("pvmove", l)]
if cmp_loads:
    w("## vmotion against dm-mirror and pvmove")
    w("")
    w("The same data and load for each system, run one after the other"
      " (vmotion, dm-mirror, pvmove). Times in seconds; IOPS and p99 latency"
      " (ms) during the migration; an IOPS ratio above 1 favours vmotion."
      " I/Os short: how many thousand fewer I/Os the load completed during"
      " the migration than at its `linear` rate over the same time, the"
      " migration's whole cost to the application (a slower copy leaves a"
      " higher rate but can cost more in all).")
    w("")
    w("| load | time: vmotion | dm-mirror | pvmove | IOPS: vmotion | dm-mirror | pvmove "
      "| vmotion / dm-mirror | vmotion / pvmove | p99: vmotion | dm-mirror | pvmove "
      "| I/Os short (k): vmotion | dm-mirror | pvmove |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for l in cmp_loads:
        v, m, p = get("vmotion", l), get("dm-mirror", l), get("pvmove", l)
        iops = [r and r["during"] and r["during"]["iops"] for r in (v, m, p)]
        p99 = [r and r["during"] and r["during"]["p99"] / 1000 for r in (v, m, p)]
        w(f"| {l} | " + " | ".join(fmt(r and r["time"]) for r in (v, m, p)) + " | "
          + " | ".join(fmt(i, 0) for i in iops) + " | "
          + f"{fmt(iops[0] / iops[1] if iops[0] and iops[1] else None, 2)} | "
          + f"{fmt(iops[0] / iops[2] if iops[0] and iops[2] else None, 2)} | "
          + " | ".join(fmt(q, 2) for q in p99) + " | "
          + " | ".join(fmt(short(r)) for r in (v, m, p)) + " |")
    w("")
# ---- the latency control's target (copy_latency_target), paired
default_target = events.get(("vmotion", "idle"), {}).get("target")
target_rows = []
for (system, load), e in sorted(events.items()):
    if system.startswith("vmotion-target-") and "target" in e:
        t = e["target"][1]
        target_rows.append((int(t), load, get(system, load), get(f"dm-mirror-tpair-{t}", load)))
if target_rows:
    for load in sorted({l for _, l, _, _ in target_rows}):
        if default_target and get("vmotion", load) and get("dm-mirror", load):
            target_rows.append((int(default_target[1]), load, get("vmotion", load),
                                get("dm-mirror", load)))
    w("## The copier's latency target")
    w("")
    w("The migration under load by the module parameter `copy_latency_target` (how far"
      " the copier may raise the application's mean latency above its baseline; 0"
      " keeps it at its least level, the fixed duty cycle of earlier versions), each"
      " vmotion run followed at once by dm-mirror's under the same load"
      + (f"; the default, {default_target[1]}, is the pair above" if default_target else "")
      + ". Times in seconds, p99 in ms, I/Os short in thousands; the ratios are"
      " vmotion / dm-mirror; source MiB/s: what the source disk moved during each"
      " migration, read + written (vmotion, then dm-mirror).")
    w("")
    w("| copy_latency_target (%) | load | time: vmotion | dm-mirror | IOPS: vmotion | dm-mirror "
      "| p99: vmotion | dm-mirror | I/Os short: vmotion | dm-mirror | time ratio | short ratio "
      "| p99 ratio | source MiB/s: vmotion | dm-mirror |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t, load, v, m in sorted(target_rows, key=lambda x: (x[1], x[0])):
        if not (v and m):
            continue
        vd, md_ = v["during"], m["during"]
        sv, sm = short(v), short(m)
        w(f"| {t} | {load} | {fmt(v['time'])} | {fmt(m['time'])} | "
          f"{fmt(vd and vd['iops'], 0)} | {fmt(md_ and md_['iops'], 0)} | "
          f"{fmt(vd and vd['p99'] / 1000, 2)} | {fmt(md_ and md_['p99'] / 1000, 2)} | "
          f"{fmt(sv)} | {fmt(sm)} | "
          f"{fmt(v['time'] / m['time'] if v['time'] and m['time'] else None, 2)} | "
          f"{fmt(sv / sm if sv is not None and sm and sm > 0 else None, 2)} | "
          f"{fmt(vd['p99'] / md_['p99'] if vd and md_ else None, 2)} | "
          f"{fmt_rate(v['disks'] and v['disks'][0])} | {fmt_rate(m['disks'] and m['disks'][0])} |")
    w("")
# ---- the copier's share of a busy device (busy_copy_share)
default_share = events.get(("vmotion", "idle"), {}).get("share")
mir = get("dm-mirror", "randwrite-4k")
share_rows = []
for r in rows:
    e = events.get((r["system"], r["load"]), {})
    if r["load"] == "randwrite-4k" and (r["system"] == "vmotion" or
                                        r["system"].startswith("vmotion-share-")):
        sh = e.get("share") or default_share
        if sh:
            share_rows.append((int(sh[1]), r))
if len(share_rows) > 1:
    w("## The copier's share of a busy device")
    w("")
    w("4 KiB random writes QD16 during the migration, by the module parameter"
      " `busy_copy_share` (the default is the `vmotion` row above).")
    w("")
    w("Each vmotion run is followed at once by a dm-mirror run under the same"
      " load (the ratio's other side), so that a drift of the machine over the"
      " benchmark touches both alike.")
    w("")
    w("| busy_copy_share (%) | migration time | IOPS during | dm-mirror right after: time | "
      "IOPS during | vmotion / dm-mirror IOPS | vmotion p99 (ms) | dm-mirror p99 (ms) "
      "| I/Os short (k): vmotion | dm-mirror |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for sh, r in sorted(share_rows, key=lambda x: -x[0]):
        d = r["during"]
        m = mir if r["system"] == "vmotion" else get(f"dm-mirror-pair-{sh}", "randwrite-4k")
        md = m and m["during"]
        vs = (d["iops"] / md["iops"]) if d and md else None
        r["vs_mirror"] = vs
        w(f"| {sh} | {fmt(r['time'])} | {fmt(d and d['iops'], 0)} | {fmt(m and m['time'])} | "
          f"{fmt(md and md['iops'], 0)} | {fmt(vs, 2)} | {fmt(d and d['p99'] / 1000, 2)} | "
          f"{fmt(md and md['p99'] / 1000, 2)} | {fmt(short(r))} | {fmt(short(m))} |")
    w("")
# ---- metadata: the same migration with and without, paired
md_loads = [l for l in ["idle"] + loads + ["randwrite-4k"]
            if get("vmotion-md", l) and get("vmotion-nomd", l)]
md_loads = list(dict.fromkeys(md_loads))
md_goals = []
if md_loads:
    w("## Metadata")
    w("")
    w("The same migration loaded with `dmsetup`, without metadata and right after"
      " with it (on the destination past the migrated range), idle and under"
      " load. Times in seconds; IOPS during the migration; metadata blocks:"
      " 4 KiB blocks written (write-intent bits, regions in sync, header).")
    w("")
    w("| load | time: without | with | with / without | IOPS: without | with "
      "| with / without | p99 (ms): without | with | metadata blocks | blocks/s |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for l in md_loads:
        a, b = get("vmotion-nomd", l), get("vmotion-md", l)
        ia = a["during"] and a["during"]["iops"]
        ib = b["during"] and b["during"]["iops"]
        blocks = events.get(("vmotion-md", l), {}).get("md_blocks")
        blocks = int(blocks[1]) if blocks and blocks[1].isdigit() else None
        tr = b["time"] / a["time"] if a["time"] and b["time"] else None
        ir = ib / ia if ia and ib else None
        w(f"| {l} | {fmt(a['time'])} | {fmt(b['time'])} | {fmt(tr, 2)} | {fmt(ia, 0)} | "
          f"{fmt(ib, 0)} | {fmt(ir, 2)} | "
          f"{fmt(a['during'] and a['during']['p99'] / 1000, 2)} | "
          f"{fmt(b['during'] and b['during']['p99'] / 1000, 2)} | "
          f"{blocks if blocks is not None else '-'} | "
          f"{fmt(blocks / b['time'] if blocks is not None and b['time'] else None)} |")
        if l == "idle" and tr:
            md_goals.append(("idle migration time, with metadata / without", f"{tr:.2f}",
                             "<= 1.05", tr <= 1.05))
        if l == "randwrite-4k" and ir:
            md_goals.append(("4 KiB random-write IOPS during migration, with metadata / without",
                             f"{ir:.2f}", ">= 0.9", ir >= 0.9))
    w("")
# ---- thin destination: skip_zeroes and dest_zeroed against writing all
thin_goals = []
thin_srcs = [k for k in ("dense", "sparse") if secs((f"thin-{k}", "plain"))]
if thin_srcs:
    w("## Thin destination")
    w("")
    w("Each source migrated idle onto a new dm-thin volume (64 KiB blocks) on the"
      " destination disk: without `skip_zeroes`, with it, and with `dest_zeroed`"
      " (what `vmotion migrate` uses onto a new thin volume). dense: random data"
      " throughout; sparse: a fifth of it data, in 40 extents. Times in seconds;"
      " pool: MiB the pool maps after the migration; zero: MiB the copier did"
      " not write as data.")
    w("")
    w("| source | features | time | time / without | pool MiB | pool / without | zero MiB |")
    w("|---|---|---|---|---|---|---|")

    def tval(key, name):
        v = events.get(key, {}).get(name)
        return int(v[1]) if v and v[1].isdigit() else None

    for src in thin_srcs:
        base = secs((f"thin-{src}", "plain"))
        base_pool = tval((f"thin-{src}", "plain"), "pool_mib")
        for feats in ("plain", "skip_zeroes", "dest_zeroed"):
            key = (f"thin-{src}", feats)
            t = secs(key)
            pool = tval(key, "pool_mib")
            zero = tval(key, "zero_kib")
            w(f"| {src} | {'-' if feats == 'plain' else feats} | {fmt(t)} | "
              f"{fmt(t / base if t and base else None, 2)} | {pool if pool is not None else '-'} | "
              f"{fmt(pool / base_pool if pool is not None and base_pool else None, 2)} | "
              f"{fmt(zero / 1024 if zero is not None else None)} |")
            if src == "dense" and feats == "skip_zeroes" and t and base:
                thin_goals.append(("dense data onto thin: speed with skip_zeroes / without",
                                   f"{base / t:.2f}", ">= 0.9", base / t >= 0.9))
    w("")
# ---- slow destination: NBD 150 ms away, mirror / track / auto
slow_goals = []
slow_modes = [m for m in ("mirror", "track", "auto") if secs(("slow", m))]
if slow_modes:
    def slow_stats(m):
        e = events[("slow", m)]
        log = lat_log(f"slow-{m}")
        if m == "linear":
            end = min(e["end"][0], log[-1][0] + 1) if log else e["end"][0]
            return stats(log, e["start"][0] + 1000, end), log
        return stats(log, e["start"][0], e["sync"][0]), log

    def sval(m, name):
        v = events.get(("slow", m), {}).get(name)
        return float(v[1]) if v and v[1] not in ("", "nan") else None

    lin, _ = slow_stats("linear")
    slow_load = events[("slow", "linear")].get("load", (0, "randwrite-4k-hot"))[1]
    slow_desc = {"randwrite-4k-hot": "QD16, 90 % of the writes on a tenth of the device",
                 "randwrite-4k-hotset": "QD16, every write on a tenth of the device"}
    w("## Slow destination")
    w("")
    w("The destination served over NBD from another network namespace of the guest,"
      " 75 ms of netem delay each way (a round trip of 150 ms, as across sites);"
      f" {slow_load}" + (f" ({slow_desc[slow_load]})" if slow_load in slow_desc else "")
      + " on the source alone first, then a migration in each mode with `vmotion migrate"
      " --mode`, one right after the other. Latencies are the application's writes"
      " from the start of the migration to its sync; `track` is told to mirror"
      " (`vmotion mode`) once it has run as long as `mirror` took, and its time runs"
      " to the sync. dest: MiB written to the NBD disk; copied: MiB the copier moved.")
    w("")
    w("| mode | time (s) | IOPS | p50 (ms) | p99 (ms) | p99 / linear | dest MiB | copied MiB | passes | dirtied again | switch pause (ms) |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    if lin:
        w(f"| linear (source alone) | - | {lin['iops']:.0f} | {lin['p50'] / 1000:.2f} | "
          f"{lin['p99'] / 1000:.2f} | 1.00 | - | - | - | - | - |")
    slow_rows = {}
    for m in slow_modes:
        st, log = slow_stats(m)
        t = secs(("slow", m))
        slow_rows[m] = (t, st)
        told = events[("slow", m)].get("mirror")
        dest, copied = sval(m, "dest_kib"), sval(m, "copied_kib")
        label = m
        if told:
            label += f" (told to mirror at {(told[0] - events[('slow', m)]['start'][0]) / 1000:.0f} s)"
        w(f"| {label} | "
          f"{fmt(t)} | {st['iops']:.0f} | {st['p50'] / 1000:.2f} | {st['p99'] / 1000:.2f} | "
          f"{fmt(st['p99'] / lin['p99'] if lin else None, 2)} | "
          f"{fmt(dest / 1024 if dest is not None else None)} | "
          f"{fmt(copied / 1024 if copied is not None else None)} | "
          f"{fmt(sval(m, 'passes'), 0)} | {fmt(sval(m, 'redirtied'), 0)} | "
          f"{fmt(sval(m, 'switch'))} |")
        if log:
            buckets = collections.defaultdict(list)
            start = events[("slow", m)]["start"][0]
            for ts, lat in log:
                buckets[(ts - start) // 1000].append(lat)
            with open(os.path.join(out, f"slow-{m}.dat"), "w") as f:
                for b, v in sorted(buckets.items()):
                    if b >= -2:
                        f.write(f"{b} {pct(v, 99) / 1000:.3f} {len(v)}\n")
    w("")
    if "auto" in slow_rows and lin and slow_rows["auto"][1]:
        r = slow_rows["auto"][1]["p99"] / lin["p99"]
        slow_goals.append(("slow destination: auto's p99 during the copy / linear's",
                           f"{r:.2f}", "<= 2", r <= 2))
        told = "mirror" in events[("slow", "auto")]
        slow_goals.append(("slow destination: auto reaches sync by itself", "yes" if not told else "no",
                           "yes", not told))
    if "mirror" in slow_rows and slow_rows["mirror"][1]:
        p = slow_rows["mirror"][1]["p99"] / 1000
        slow_goals.append(("slow destination: mirror's p99 during the copy (ms)", f"{p:.0f}",
                           ">= 150 (the round trip)", p >= 150))
    if "auto" in slow_rows and "mirror" in slow_rows and slow_rows["mirror"][0]:
        r = slow_rows["auto"][0] / slow_rows["mirror"][0]
        slow_goals.append(("slow destination: auto's migration time / mirror's", f"{r:.2f}",
                           "<= 1.5", r <= 1.5))
    png = "slow-latency.png"
    gp = ["set terminal pngcairo size 1000,500 font ',10'",
          f"set output '{os.path.join(out, png)}'",
          f"set title '{slow_load} onto a destination 150 ms away: p99 write latency per second (t = 0: migration starts)'",
          "set xlabel 'seconds since the migration started'", "set ylabel 'p99 latency (ms, per 1 s)'",
          "set grid", "set key outside right top", "set logscale y"]
    mcolors = {"mirror": "#d62728", "track": "#2ca02c", "auto": "#1f77b4"}
    for m in slow_modes:
        t = secs(("slow", m))
        if t:
            gp.append(f"set arrow from {t},graph 0 to {t},graph 1 nohead dt 2 lc rgb '{mcolors[m]}'")
            gp.append(f"set label '{m} sync' at {t},graph 0.97 rotate by 90 right font ',8' tc rgb '{mcolors[m]}'")
    plots = [f"'{os.path.join(out, f'slow-{m}.dat')}' using 1:2 with lines lw 1.5 lc rgb '{mcolors[m]}' title '{m}'"
             for m in slow_modes if os.path.exists(os.path.join(out, f"slow-{m}.dat"))]
    if lin:
        plots.append(f"{lin['p99'] / 1000:.3f} with lines dt 3 lc rgb '#808080' title 'linear p99 (source alone)'")
    gp.append("plot " + ", ".join(plots))
    subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=True)
    w(f"![slow destination latency]({png})")
    w("")
w("## Switch")
w("")
w("| load | I/O pause reported by `vmotion switch` (ms) | worst application latency around the switch (ms) |")
w("|---|---|---|")
for r in rows:
    if r["switch_ms"] is not None:
        w(f"| {r['load']} | {fmt(r['switch_ms'])} | {fmt(r['switch_worst'])} |")
w("")
w("## Memory")
w("")
slab = events.get(("vmotion", "idle"), {}).get("slab_peak_kb")
w(f"- region bitmap for this run: {nr_regions} regions, {human(bitmap_bytes(nr_regions))}")
w(f"- peak slab growth during the idle vmotion migration: {slab[1] if slab else '-'} KiB")
for label, size in (("1 TiB", 1 << 40), ("64 TiB", 64 << 40)):
    n = size // (region * 512)
    w(f"- bitmap for {label} at {region // 2} KiB regions: {human(bitmap_bytes(n))}")
w("")
w("## Goals")
w("")
w("Against dm-mirror, paired (each vmotion run followed at once by dm-mirror's"
  " under the same load), at the module's default settings. I/Os short: the"
  " migration's whole cost to the application (above).")
w("")
vm_idle = secs(("vmotion", "idle"))
goal_rows = []
if vm_idle and raw:
    goal_rows.append(("idle migration / raw copy", f"{vm_idle / raw:.2f}",
                      "<= 1.1", vm_idle / raw <= 1.1))
for l in ("randwrite-4k", "randwrite-4k-hot", "mixed-70-30"):
    v, m = get("vmotion", l), get("dm-mirror", l)
    if not (v and m):
        continue
    if v["time"] and m["time"]:
        q = v["time"] / m["time"]
        goal_rows.append((f"{l}: migration time, vmotion / dm-mirror", f"{q:.2f}", "<= 1", q <= 1))
    sv, sm = short(v), short(m)
    if sv is not None and sm is not None:
        # dm-mirror cost nothing (or less): no ratio.  If vmotion did not
        # either, the baseline ran slower than both migrations (a noisy
        # disk): nothing was measured, neither met nor missed
        q = sv / sm if sm > 0 else None
        if q is not None:
            met = q <= 0.75
        else:
            met = False if sv > 0 else None
        goal_rows.append((f"{l}: I/Os short, vmotion / dm-mirror",
                          fmt(q, 2) if q is not None else f"- ({sv:.1f}k / {sm:.1f}k)",
                          "<= 0.75", met))
    if v["during"] and m["during"]:
        q = v["during"]["p99"] / m["during"]["p99"]
        goal_rows.append((f"{l}: p99 during the migration, vmotion / dm-mirror", f"{q:.2f}",
                          "<= 0.75", q <= 0.75))
goal_rows += md_goals + thin_goals + slow_goals
pauses = [r["switch_ms"] for r in rows if r["switch_ms"] is not None]
if pauses:
    goal_rows.append(("worst switch pause (ms)", f"{max(pauses):.1f}", "< 20", max(pauses) < 20))
w("| measure | value | goal | met |")
w("|---|---|---|---|")
def met_word(met):
    return "n/a" if met is None else "yes" if met else "no"


for name, value, goal, met in goal_rows:
    w(f"| {name} | {value} | {goal} | {met_word(met)} |")
w("")
with open(os.path.join(out, "goals.tsv"), "w") as f:
    if os.environ.get("RIG_DESC"):
        f.write(f"rig\t{os.environ['RIG_DESC']}\t-\t-\n")
    for name, value, goal, met in goal_rows:
        f.write(f"{name}\t{value}\t{goal}\t{met_word(met)}\n")
w("## Plots")
w("")

# ---------------------------------------------------------------- plots
colors = {"linear": "#808080", "vmotion": "#1f77b4", "dm-mirror": "#d62728", "pvmove": "#2ca02c"}
for load in loads:
    systems = [s for s in ("linear", "vmotion", "dm-mirror", "pvmove") if (s, load) in series]
    for s in systems:
        with open(os.path.join(out, f"{s}-{load}.dat"), "w") as f:
            for t, iops, lat in series[(s, load)]:
                f.write(f"{t:.1f} {iops:.1f} {lat:.3f}\n")
    for what, col, ylabel in (("iops", 2, "IOPS (per 0.5 s)"), ("latency", 3, "mean latency (ms, per 0.5 s)")):
        png = f"{load}-{what}.png"
        gp = [
            "set terminal pngcairo size 1000,500 font ',10'",
            f"set output '{os.path.join(out, png)}'",
            f"set title '{load}: {what} while migrating {size_mib} MiB (t = 0: migration starts)'",
            "set xlabel 'seconds since the migration started'",
            f"set ylabel '{ylabel}'",
            "set grid", "set key outside right top", "set yrange [0:*]",
        ]
        for s in systems:
            for k, t in sorted(marks.get((s, load), {}).items()):
                gp.append(f"set arrow from {t},graph 0 to {t},graph 1 nohead dt 2 lc rgb '{colors[s]}'")
                gp.append(f"set label '{s} {k}' at {t},graph 0.97 rotate by 90 right font ',8' tc rgb '{colors[s]}'")
        gp.append("set arrow from 0,graph 0 to 0,graph 1 nohead lw 2 lc rgb 'black'")
        plots = [f"'{os.path.join(out, f'{s}-{load}.dat')}' using 1:{col} with lines lw 1.5 "
                 f"lc rgb '{colors[s]}' title '{s if s != 'linear' else 'linear (baseline, no migration)'}'"
                 for s in systems]
        gp.append("plot " + ", ".join(plots))
        subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=True)
        w(f"![{load} {what}]({png})")
w("")

# ---- the copier against the application's latency, over time
for load in loads:
    path = os.path.join(out, f"vmotion-{load}.copied")
    e = events.get(("vmotion", load), {})
    if not os.path.exists(path) or "start" not in e or ("vmotion", load) not in series:
        continue
    start = e["start"][0]
    samples = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 2 and p[0].isdigit() and p[1].isdigit():
                # microseconds, KiB read from the source
                samples.append((int(p[0]) // 1000, int(p[1])))
    end = e.get("sync", e.get("end", (start + 3600 * 1000, "")))[0]
    samples = [(t, k) for t, k in samples if start - 1000 <= t <= end + 1000]
    # each rate drawn as a step from the start of its interval
    rates = [((t0 - start) / 1000.0, (k1 - k0) / 1024.0 / ((t1 - t0) / 1000.0))
             for (t0, k0), (t1, k1) in zip(samples, samples[1:]) if t1 > t0 and k1 >= k0]
    if not rates and secs(("vmotion", load)):
        # over before two samples: the mean rate from start to sync
        t = secs(("vmotion", load))
        rates = [(0.0, size_mib / t), (t, size_mib / t)]
    with open(os.path.join(out, f"vmotion-{load}-copier.dat"), "w") as f:
        for t, rate in rates:
            f.write(f"{t:.2f} {rate:.1f}\n")
    png = f"{load}-copier.png"
    gp = ["set terminal pngcairo size 1000,500 font ',10'",
          f"set output '{os.path.join(out, png)}'",
          f"set title '{load}: the copier against the application (t = 0: migration starts)'",
          "set xlabel 'seconds since the migration started'",
          "set ylabel 'source reads under vmotion (MiB/s)'", "set y2label 'mean latency (ms, per 0.5 s)'",
          "set ytics nomirror", "set y2tics", "set grid", "set key outside right top",
          "set yrange [0:*]", "set y2range [0:*]"]
    plots = [f"'{os.path.join(out, f'vmotion-{load}-copier.dat')}' using 1:2 with steps lw 1.5 "
             "lc rgb '#ff7f0e' title 'source reads (the copier; and the load, if it reads)'"]
    for s_ in ("vmotion", "dm-mirror", "linear"):
        if (s_, load) in series:
            plots.append(f"'{os.path.join(out, f'{s_}-{load}.dat')}' using 1:3 axes x1y2 with lines "
                         f"lw 1 lc rgb '{colors[s_]}' title '{s_} latency'")
    gp.append("plot " + ", ".join(plots))
    subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=True)
    w(f"![{load} copier]({png})")
w("")

with open(os.path.join(out, "bench-results.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
