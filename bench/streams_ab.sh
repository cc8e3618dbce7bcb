#!/usr/bin/env bash
# A/B: what do room event streams (sequencing, bounded history, resume) cost per delivery?
# Runs the same loadgen scenario against two tutti-server binaries in one session, in the
# order A B B A per pair (so a drift in the machine's load weighs on both arms alike): A
# built from the commit before room streams, B from the tree under test. Each run gets a
# fresh server pinned to core 0 and the loadgen (B's build, the same for both arms) on
# core 1. Prints each run and, per scenario, the medians and the ratio B/A of server CPU
# per delivery.
# Bounded: each run is the scenario's 10 s plus setup. Only 127.0.0.1; only processes
# started here are ended.
# usage: bench/streams_ab.sh A_SERVER B_SERVER LOADGEN [--pairs N] [--out DIR]
#          [--scenarios "lobby-light rooms-200x5"]
# A_FLAGS / B_FLAGS (environment): flags only one arm knows. The defaults suit A built
# before `--dev` and `--drain-grace-s` existed (it made its keys itself) and B today.
set -euo pipefail
a_bin=${1:?usage: bench/streams_ab.sh A_SERVER B_SERVER LOADGEN [--pairs N] [--out DIR]}
b_bin=${2:?B_SERVER}
loadgen_bin=${3:?LOADGEN}
shift 3
pairs=2
out="streams-ab"
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

args_for() {  # the presets of bench/run_scenarios.sh
  case "$1" in
    lobby-light) echo "--scenario lobby --room-size 64 --players 8 --rate 100 --duration 10" ;;
    lobby) echo "--scenario lobby --room-size 64 --players 8 --rate 1000 --duration 10" ;;
    rooms-200x5) echo "--scenario rooms --rooms 200 --room-size 5 --players 2 --rate 75 --duration 10" ;;
    rooms-200x5-light) echo "--scenario rooms --rooms 200 --room-size 5 --players 2 --rate 25 --duration 10" ;;
    *) return 1 ;;
  esac
}

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
  taskset -c 0 "$bin" "${own[@]}" --port 0 --shards 1 --keys "$work/keys" --data "$work/data" \
    --web-root "" --notes-per-second 100000 --note-burst 100000 --chat-per-second 100 --chat-burst 200 \
    --max-rooms 10000 --exempt-networks 127.0.0.0/8 >"$work/server.log" 2>&1 &
  server_pid=$!
  port=
  for _ in $(seq 1 100); do
    port=$(grep -so 'listening on ws://127.0.0.1:[0-9]*' "$work/server.log" | sed 's/.*://' || true)
    [[ -n "$port" ]] && break
    sleep 0.1
  done
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
      f"lost {r['midi_lost']}, server {r['server_cpu_us_per_delivery']:.3f} us/delivery, "
      f"load average {r['loadavg'][0]}", file=sys.stderr)
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
for preset in dict.fromkeys(r["preset"] for r in runs):
    a = [r["server_cpu_us_per_delivery"] for r in runs if r["preset"] == preset and r["variant"] == "A"]
    b = [r["server_cpu_us_per_delivery"] for r in runs if r["preset"] == preset and r["variant"] == "B"]
    if not a or not b:
        continue
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{preset}: A median {ma:.3f} us/delivery {sorted(round(x, 3) for x in a)}, "
          f"B median {mb:.3f} {sorted(round(x, 3) for x in b)}, B/A {mb / ma:.3f}")
PY
