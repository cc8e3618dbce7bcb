#!/usr/bin/env python3
"""Summary of bench/redis_ab.sh's runs.jsonl as Markdown: per scenario and configuration
(one = one node, redis1 = one node + Redis, two = two nodes + Redis) the medians with
min-max over the repetitions, then per scenario the median of the per-repetition ratios
to one node (runs of the same repetition ran back to back, so they saw the same machine)
and the Redis capacity model's inputs (redis-server CPU per published message).

usage: bench/redis_ab_summary.py runs.jsonl
"""
import json
import statistics
import sys
from collections import OrderedDict


def spread(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1 or min(values) == max(values):
        return fmt(med)
    return f"{fmt(med)} ({fmt(min(values))}-{fmt(max(values))})"


def ms(v):
    return f"{v / 1000:.2f}"


def f2(v):
    return f"{v:.2f}"


def f1(v):
    return f"{v:.1f}"


def k(v):
    return f"{v / 1000:.1f}k"


def main(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    groups = OrderedDict()
    for r in runs:
        groups.setdefault((r["preset"], r["config"]), []).append(r)
    print("| scenario | config | runs | deliveries/s | p50 ms | p99 ms | p99.9 ms | lost | "
          "nodes' CPU us/delivery | redis-server CPU us/message | redis-server CPU | load avg |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (preset, config), rs in groups.items():
        lat = [r["latency"] for r in rs]
        redis = [r["redis_cpu_us_per_send"] if r.get("redis_sampled") else None for r in rs]
        util = [100 * r["redis_cpu_util"] if r.get("redis_sampled") else None for r in rs]
        print(f"| {preset} | {config} | {len(rs)} | {spread([r['deliveries_per_s'] for r in rs], k)} | "
              f"{spread([l['p50_us'] for l in lat], ms)} | {spread([l['p99_us'] for l in lat], ms)} | "
              f"{spread([l['p999_us'] for l in lat], ms)} | "
              f"{sum(r['midi_lost'] for r in rs)} | "
              f"{spread([r['server_cpu_us_per_delivery'] for r in rs], f2)} | "
              f"{spread(redis, f1)} | {spread(util, lambda v: f'{v:.0f}%')} | "
              f"{spread([float(r['loadavg'][0]) for r in rs], f1)} |")

    # Ratios within a repetition: config / one.
    print()
    print("| scenario | config | p50 / one | p99 / one | nodes' CPU per delivery / one | "
          "added p50 ms | added CPU us/delivery (nodes + redis) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    by_rep = {}
    for r in runs:
        by_rep[(r["preset"], r["config"], r["rep"])] = r
    for (preset, config), rs in groups.items():
        if config == "one":
            continue
        p50, p99, cpu, add50, addcpu = [], [], [], [], []
        for r in rs:
            base = by_rep.get((preset, "one", r["rep"]))
            if not base or not base["latency"]["p50_us"] or not base["server_cpu_us_per_delivery"]:
                continue
            p50.append(r["latency"]["p50_us"] / base["latency"]["p50_us"])
            p99.append(r["latency"]["p99_us"] / base["latency"]["p99_us"])
            cpu.append(r["server_cpu_us_per_delivery"] / base["server_cpu_us_per_delivery"])
            add50.append(r["latency"]["p50_us"] - base["latency"]["p50_us"])
            addcpu.append(r["server_cpu_us_per_delivery"] + r.get("redis_cpu_us_per_delivery", 0) -
                          base["server_cpu_us_per_delivery"])
        print(f"| {preset} | {config} | {spread(p50, f2)} | {spread(p99, f2)} | {spread(cpu, f2)} | "
              f"{spread(add50, ms)} | {spread(addcpu, f2)} |")

    # The Lua sequencer: script calls over the whole run (setup, play, drain) against
    # redis-server's CPU over the same span (bench/redis_ab.sh reads INFO commandstats
    # after CONFIG RESETSTAT, and /proc/PID/stat).
    rows = [(key, [r for r in rs if r.get("redis_run", {}).get("script_calls")])
            for key, rs in groups.items()]
    rows = [(key, rs) for key, rs in rows if rs]
    if not rows:
        return
    print()
    print("| scenario | config | script calls | messages per call | Redis us inside per call | "
          "redis-server CPU us per call (all in) | calls per Redis core-second (all in) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (preset, config), rs in rows:
        calls = [r["redis_run"]["script_calls"] for r in rs]
        per_call = [(r["midi_sent"] + r["chat_sent"]) / r["redis_run"]["script_calls"] for r in rs]
        inside = [r["redis_run"]["script_usec"] / r["redis_run"]["script_calls"] for r in rs]
        allin = [1e6 * r["redis_run"]["cpu_s"] / r["redis_run"]["script_calls"] for r in rs]
        rate = [r["redis_run"]["script_calls"] / r["redis_run"]["cpu_s"] for r in rs
                if r["redis_run"]["cpu_s"] > 0]
        print(f"| {preset} | {config} | {spread(calls, k)} | {spread(per_call, f2)} | "
              f"{spread(inside, f1)} | {spread(allin, f1)} | {spread(rate, k)} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1])
