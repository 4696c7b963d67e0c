#!/usr/bin/env python3
"""The ratios of a realtime.sh run, from sse-fanout's JSON lines (--json-out).

usage: realtime_summary.py RESULTS.jsonl

Prints a markdown table: each measure for Hearth and PocketBase and Hearth / PocketBase
(below 1 is better for Hearth on latency, CPU and memory; above 1 on rates). A server or
mode missing from the file leaves its cells as "–". Standard library only.
"""

import json
import sys


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                row = json.loads(line)
                mode = row["mode"]
                # Fan-out runs at several rates: each rate is a mode of its own.
                if mode == "fan-out" and row.get("offered_per_s"):
                    mode = f"fan-out {row['offered_per_s']:,.0f}/s"
                rows[(row["label"], mode)] = row
    return rows


def get(row, *keys):
    value = row
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def fmt(x):
    if x is None:
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ratio(h, pb):
    if h is None or pb is None or pb == 0:
        return "–"
    return f"{h / pb:.2f}×"


FAN_OUT_MEASURES = [
    # (what, path into the row), for each fan-out rate
    ("latency from answer p50, ms", ("latency_from_ack_ms", "p50")),
    ("latency from answer p99, ms", ("latency_from_ack_ms", "p99")),
    ("latency from request p50, ms", ("latency_from_send_ms", "p50")),
    ("latency from request p99, ms", ("latency_from_send_ms", "p99")),
    ("creates/s achieved", ("creates_per_s",)),
    ("deliveries/s", ("deliveries_per_s",)),
    ("server CPU µs per delivered event", ("server_cpu_us_per_delivery",)),
]

MEASURES = [
    # (label, mode, path into the row)
    ("saturation: deliveries/s", "saturation", ("deliveries_per_s",)),
    ("saturation: server CPU µs per delivered event", "saturation", ("server_cpu_us_per_delivery",)),
    ("creates/s with no stream", "no streams", ("creates_per_s",)),
    ("creates/s with the streams, ÷ with none", "saturation", ("create_ratio_vs_no_streams",)),
    ("idle: server RSS per stream, KB", "idle", ("idle_kb_per_stream",)),
    ("idle: server CPU % with the streams open", "idle", ("server_cpu_pct",)),
]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = load(sys.argv[1])
    print("| measure | Hearth | PocketBase | Hearth / PocketBase |")
    print("| --- | ---: | ---: | ---: |")
    fan_outs = sorted(
        {mode for (_, mode) in rows if mode.startswith("fan-out ")},
        key=lambda m: -max(r.get("offered_per_s") or 0 for (_, mm), r in rows.items() if mm == m),
    )
    measures = [(f"{mode}: {what}", mode, path) for mode in fan_outs for what, path in FAN_OUT_MEASURES]
    for name, mode, path in measures + MEASURES:
        h = get(rows.get(("hearth", mode), {}), *path)
        pb = get(rows.get(("pocketbase", mode), {}), *path)
        if h is None and pb is None:
            continue
        print(f"| {name} | {fmt(h)} | {fmt(pb)} | {ratio(h, pb)} |")
    # Losses over every run: the one number that must be 0.
    for label in ("hearth", "pocketbase"):
        mine = [r for (l, _), r in rows.items() if l == label]
        if mine:
            lost = sum((r.get("missing") or 0) + (r.get("duplicates") or 0) for r in mine)
            failed = sum((r.get("streams_failed") or 0) + (r.get("streams_lost") or 0) for r in mine)
            print(f"\n{label}: {lost} events missing or duplicated, {failed} streams failed or lost, over {len(mine)} rows")


if __name__ == "__main__":
    main()
