#!/usr/bin/env python3
"""Medians (with min and max) per scenario from run_scenarios.sh's runs.jsonl, as a
Markdown table, and a latency-percentile plot as plain SVG (no packages beyond python3).

usage: bench/summarize.py runs.jsonl [--svg latency.svg]
"""
import json
import math
import statistics
import sys
from collections import OrderedDict


def load(path):
    groups = OrderedDict()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                groups.setdefault(r["preset"], []).append(r)
    return groups


def spread(values, fmt):
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1 or min(values) == max(values):
        return fmt(med)
    return f"{fmt(med)} ({fmt(min(values))}-{fmt(max(values))})"


def k(v):
    return f"{v / 1000:.0f}k" if v >= 10000 else f"{v:.0f}"


def ms(v):
    return f"{v / 1000:.2f}"


def table(groups):
    rows = [
        "| scenario | runs | deliveries/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | lost | "
        "server us/delivery | server CPU | server waited | loadgen CPU | loadgen us/delivery | other |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, runs in groups.items():
        lat = [r["latency"] if r["latency"]["count"] else r["chat_latency"] for r in runs]
        other = []
        if any(r["preset"].startswith("idle") for r in runs):
            other.append("conns " + spread([r["connections_ok"] for r in runs], lambda v: f"{v:.0f}"))
            other.append("KiB/conn " + spread([r["server_rss_per_connection"] / 1024 for r in runs],
                                              lambda v: f"{v:.1f}"))
            other.append("handshakes/s " + spread([r["handshakes_per_s"] for r in runs], k))
            other.append("server us/handshake " + spread(
                [r.get("server_cpu_us_per_connection", 0) for r in runs], lambda v: f"{v:.0f}"))
        if any(r["churn_cycles"] for r in runs):
            other.append("churn cycles " + spread([r["churn_cycles"] for r in runs], lambda v: f"{v:.0f}"))
        if any(r["chat_sent"] for r in runs):
            other.append("chat p99 ms " + spread([r["chat_latency"]["p99_us"] for r in runs], ms))
        if any("server_system_share" in r for r in runs):
            other.append("server kernel share " + spread(
                [100 * r.get("server_system_share", 0) for r in runs], lambda v: f"{v:.0f}%"))
        if any(r["loadgen_saturated"] for r in runs):
            other.append("**loadgen saturated**")
        rows.append("| " + " | ".join([
            name,
            str(len(runs)),
            spread([r["deliveries_per_s"] for r in runs], k),
            spread([x["p50_us"] for x in lat], ms),
            spread([x["p90_us"] for x in lat], ms),
            spread([x["p99_us"] for x in lat], ms),
            spread([x["p999_us"] for x in lat], ms),
            spread([x["max_us"] for x in lat], ms),
            spread([r["midi_lost"] + r["chat_lost"] for r in runs], lambda v: f"{v:.0f}"),
            spread([r["server_cpu_us_per_delivery"] for r in runs if r["deliveries_per_s"] > 0],
                   lambda v: f"{v:.2f}"),
            spread([100 * r["server_cpu_util"] for r in runs], lambda v: f"{v:.0f}%"),
            spread([100 * r.get("server_wait_util", 0) for r in runs if r["deliveries_per_s"] > 0],
                   lambda v: f"{v:.0f}%"),
            spread([100 * r["loadgen_cpu_util"] for r in runs], lambda v: f"{v:.0f}%"),
            spread([1e6 * r["loadgen_cpu_s"] / (r["deliveries_per_s"] * r["window_s"])
                    for r in runs if r["deliveries_per_s"] > 0], lambda v: f"{v:.2f}"),
            ", ".join(other),
        ]) + " |")
    return "\n".join(rows)


def svg_plot(groups, path):
    """Latency (log scale) against percentile, one line per scenario (median run)."""
    points = [("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"), ("p99.9", "p999_us"),
              ("max", "max_us")]
    series = []
    for name, runs in groups.items():
        runs = [r for r in runs if r["latency"]["count"]]
        if not runs:
            continue
        ordered = sorted(runs, key=lambda r: r["latency"]["p99_us"])
        median_run = ordered[len(ordered) // 2]
        series.append((name, [max(1, median_run["latency"][key]) for _, key in points]))
    if not series:
        return
    width, height, left, right, top, bottom = 760, 440, 70, 190, 30, 50
    lo = 10 ** math.floor(math.log10(min(min(v) for _, v in series)))
    hi = 10 ** math.ceil(math.log10(max(max(v) for _, v in series)))
    pw, ph = width - left - right, height - top - bottom

    def x(i):
        return left + pw * i / (len(points) - 1)

    def y(v):
        return top + ph * (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
              "#17becf", "#7f7f7f", "#bcbd22"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">End-to-end latency by percentile '
           f'(median run per scenario; sender send to receiver read)</text>']
    decade = lo
    while decade <= hi:
        for m in (1, 2, 5):
            v = decade * m
            if lo <= v <= hi:
                yy = y(v)
                label = f"{v / 1000:g} ms" if v >= 1000 else f"{v:g} us"
                out.append(f'<line x1="{left}" x2="{left + pw}" y1="{yy:.1f}" y2="{yy:.1f}" '
                           f'stroke="#ddd"/>')
                out.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{label}</text>')
        decade *= 10
    for i, (label, _) in enumerate(points):
        out.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{x(i):.1f}" y="{top + ph + 18}" text-anchor="middle">{label}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    for n, (name, values) in enumerate(series):
        c = colors[n % len(colors)]
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>')
        for i, v in enumerate(values):
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{c}"/>')
        ly = top + 14 + 18 * n
        out.append(f'<line x1="{left + pw + 14}" x2="{left + pw + 34}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 40}" y="{ly}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        sys.exit(2)
    svg = None
    if "--svg" in args:
        i = args.index("--svg")
        svg = args[i + 1]
        del args[i:i + 2]
    groups = load(args[0])
    print(table(groups))
    if svg:
        svg_plot(groups, svg)
        print(f"\nlatency plot: {svg}")


if __name__ == "__main__":
    main()
