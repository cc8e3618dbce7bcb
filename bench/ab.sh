#!/usr/bin/env bash
# A/B of two tutti-server binaries under the same load scenarios, in one session: what a
# change costs per delivery (room event streams, issue 11; the server floor's redesign,
# issue 9). Runs in the order A B B A per pair, so a drift in the machine's load weighs
# on both arms alike. Each run gets a fresh server pinned to core 0 and the loadgen (the
# same binary for both arms) on core 1. Prints each run and, per scenario, the medians
# and the ratio B/A of server CPU per delivery, of deliveries/s and of p99 latency.
# Scenarios are bench/run_scenarios.sh's presets (bench/scenario_presets.sh).
# Bounded: each run is the scenario's duration plus setup. Only 127.0.0.1; only processes
# started here are ended.
# usage: bench/ab.sh A_SERVER B_SERVER LOADGEN [--pairs N] [--out DIR]
#          [--scenarios "lobby-light rooms-200x5"]
# A_FLAGS / B_FLAGS (environment): flags only one arm knows. The defaults suit A built
# before `--dev` and `--drain-grace-s` existed (it made its keys itself) and B today.
set -euo pipefail
a_bin=${1:?usage: bench/ab.sh A_SERVER B_SERVER LOADGEN [--pairs N] [--out DIR]}
b_bin=${2:?B_SERVER}
loadgen_bin=${3:?LOADGEN}
shift 3
pairs=2
out="ab-results"
scenarios="lobby-light rooms-200x5"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --pairs) pairs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x "$a_bin" && -x "$b_bin" && -x "$loadgen_bin" ]] || { echo "A, B and the loadgen must be executables"; exit 1; }
mkdir -p "$out"

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/scenario_presets.sh
source "$here/scenario_presets.sh"

server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  server_pid=
}
trap cleanup EXIT

run() {  # $1 = scenario, $2 = A or B, $3 = pair number
  local scenario=$1 variant=$2 n=$3 work port bin args
  args=$(args_for "$scenario") || { echo "unknown scenario $scenario"; exit 2; }
  local -a own
  bin=$a_bin
  read -r -a own <<<"${A_FLAGS-}"
  if [[ "$variant" == B ]]; then
    bin=$b_bin
    read -r -a own <<<"${B_FLAGS---dev --drain-grace-s=0}"
  fi
  work=$(mktemp -d)
  # shellcheck disable=SC2207
  own+=($(scenario_server_flags "$scenario"))
  taskset -c 0 "$bin" "${own[@]}" --port 0 --shards 1 --keys "$work/keys" --data "$work/data" \
    --web-root "" "${server_flags[@]}" >"$work/server.log" 2>&1 &
  server_pid=$!
  port=$(server_port "$work/server.log")
  [[ -n "$port" ]] || { cat "$work/server.log"; exit 1; }
  # shellcheck disable=SC2086
  taskset -c 1 "$loadgen_bin" --port "$port" --keys "$work/keys" $args --server-pid "$server_pid" \
    --json --quiet >"$work/run.json"
  SCENARIO=$scenario VARIANT=$variant RUN=$n python3 - "$work/run.json" "$out/runs.jsonl" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
r["preset"], r["variant"], r["run"] = os.environ["SCENARIO"], os.environ["VARIANT"], int(os.environ["RUN"])
r["loadavg"] = open("/proc/loadavg").read().split()[:3]
open(sys.argv[2], "a").write(json.dumps(r) + "\n")
print(f"{r['preset']} {r['variant']} pair {r['run']}: {r['deliveries_per_s']:.0f} deliveries/s, "
      f"p99 {r['latency']['p99_us']} us, lost {r['midi_lost']}+{r['chat_lost']}, "
      f"server {r['server_cpu_us_per_delivery']:.3f} us/delivery, load average {r['loadavg'][0]}",
      file=sys.stderr)
PY
  cleanup
  rm -rf "$work"
}

for scenario in $scenarios; do
  for i in $(seq 1 "$pairs"); do
    run "$scenario" A "$i"
    run "$scenario" B "$i"
    run "$scenario" B "$i"
    run "$scenario" A "$i"
  done
done

python3 - "$out/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
metrics = [("server us/delivery", lambda r: r["server_cpu_us_per_delivery"]),
           ("deliveries/s", lambda r: r["deliveries_per_s"]),
           ("p99 ms", lambda r: r["latency"]["p99_us"] / 1000.0)]
for preset in dict.fromkeys(r["preset"] for r in runs):
    arm = {v: [r for r in runs if r["preset"] == preset and r["variant"] == v] for v in "AB"}
    if not arm["A"] or not arm["B"]:
        continue
    lost = {v: sum(r["midi_lost"] + r["chat_lost"] for r in arm[v]) for v in "AB"}
    print(f"{preset} ({len(arm['A'])} runs per arm; lost A {lost['A']}, B {lost['B']}):")
    for name, get in metrics:
        a = [get(r) for r in arm["A"]]
        b = [get(r) for r in arm["B"]]
        ma, mb = statistics.median(a), statistics.median(b)
        ratio = mb / ma if ma else float("nan")
        print(f"  {name}: A median {ma:.3f} {sorted(round(x, 3) for x in a)}, "
              f"B median {mb:.3f} {sorted(round(x, 3) for x in b)}, B/A {ratio:.3f}")
PY
