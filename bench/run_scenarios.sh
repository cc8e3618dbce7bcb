#!/usr/bin/env bash
# Runs the load scenarios of docs/PERFORMANCE.md: for each run a fresh tutti-server pinned
# to one core (taskset) and tutti-loadgen pinned to the other, a JSON record per run, and
# the medians (with min and max) per scenario. Every run is bounded in time; only
# 127.0.0.1 is used; the script ends only the server processes it started.
#
# usage: bench/run_scenarios.sh [--build DIR] [--out DIR] [--runs N] [--shards N]
#                               [--server-cpu N] [--loadgen-cpu N] [--quiet-wait S] SCENARIO...
# Before each run the script waits (at most --quiet-wait seconds, default 120) until both
# cores have been at least 85% idle for a second, so that jobs sharing the machine do not
# take the server's core; the idle fraction seen is recorded with each run.
# scenarios: lobby-light lobby lobby-max rooms-200x5 rooms-200x5-max rooms-500x8 rooms-500x8-max
#            idle idle-rooms churn chat concert (or "all")
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
out="bench-results"
runs=3
shards=1
server_cpu=0
loadgen_cpu=1
quiet_wait=120
scenarios=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --shards) shards=$2; shift 2 ;;
    --server-cpu) server_cpu=$2; shift 2 ;;
    --loadgen-cpu) loadgen_cpu=$2; shift 2 ;;
    --quiet-wait) quiet_wait=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    all) scenarios+=(lobby-light lobby lobby-max rooms-200x5 rooms-200x5-max rooms-500x8
                    rooms-500x8-max idle idle-rooms churn chat concert); shift ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
[[ ${#scenarios[@]} -gt 0 ]] || { sed -n 2,12p "$0"; exit 2; }
server_bin="$build/server/tutti-server"
loadgen_bin="$build/tools/loadgen/tutti-loadgen"
[[ -x "$server_bin" && -x "$loadgen_bin" ]] || { echo "build tutti-server and tutti-loadgen in $build first"; exit 1; }
mkdir -p "$out"

# shellcheck source=bench/scenario_presets.sh
source "$here/scenario_presets.sh"

idle_fraction() {  # idle share of all CPUs over one second, from /proc/stat
  python3 - <<'PY'
import time
def snap():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return f[3] + f[4], sum(f)
i0, t0 = snap(); time.sleep(1); i1, t1 = snap()
print(f"{(i1 - i0) / max(1, t1 - t0):.2f}")
PY
}

wait_quiet() {
  local deadline=$((SECONDS + quiet_wait)) idle
  while true; do
    idle=$(idle_fraction)
    if python3 -c "import sys; sys.exit(0 if float('$idle') >= 0.85 else 1)" || ((SECONDS >= deadline)); then
      echo "$idle"
      return
    fi
  done
}

server_pid=
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT

for scenario in "${scenarios[@]}"; do
  args=$(args_for "$scenario") || { echo "unknown scenario $scenario"; exit 2; }
  for run in $(seq 1 "$runs"); do
    work=$(mktemp -d)
    idle=$(wait_quiet)
    # shellcheck disable=SC2207
    extra=($(scenario_server_flags "$scenario"))
    # SERVER_FLAGS: more server flags, for an A/B of one setting with the same binary.
    # shellcheck disable=SC2206
    extra+=(${SERVER_FLAGS:-})
    taskset -c "$server_cpu" "$server_bin" --dev --drain-grace-s=0 --port 0 --shards "$shards" --keys "$work/keys" \
      --data "$work/data" "${server_flags[@]}" "${extra[@]}" >"$work/server.log" 2>&1 &
    server_pid=$!
    port=$(server_port "$work/server.log")
    [[ -n "$port" ]] || { echo "server did not start"; cat "$work/server.log"; exit 1; }
    echo "== $scenario run $run/$runs (idle before: $idle, load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    # shellcheck disable=SC2086
    if taskset -c "$loadgen_cpu" "$loadgen_bin" --port "$port" --keys "$work/keys" $args \
        --server-pid "$server_pid" --json --quiet >"$work/run.json"; then
      IDLE_BEFORE=$idle python3 - "$scenario" "$run" "$work/run.json" "$out/runs.jsonl" <<'PY'
import json, os, sys
scenario, run, path, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = json.load(open(path))
r["preset"], r["run"] = scenario, run
r["loadavg"] = open("/proc/loadavg").read().split()[:3]
r["idle_before"] = float(os.environ.get("IDLE_BEFORE", "0"))
with open(dest, "a") as f:
    f.write(json.dumps(r) + "\n")
lat = r["latency"]
print(f"   {r['deliveries_per_s']:.0f} deliveries/s, p50 {lat['p50_us']} us, p99 {lat['p99_us']} us, "
      f"lost {r['midi_lost']}+{r['chat_lost']}, server {r['server_cpu_us_per_delivery']:.3f} us/delivery, "
      f"loadgen {100*r['loadgen_cpu_util']:.0f}%", file=sys.stderr)
PY
    else
      echo "   run failed" >&2
    fi
    stop_server
    rm -rf "$work"
  done
done
python3 "$here/summarize.py" "$out/runs.jsonl" --svg "$out/latency.svg"
