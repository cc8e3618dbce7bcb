#!/usr/bin/env bash
# The Redis engine's cost (issue 12, docs/PERFORMANCE.md "Two nodes and Redis against one
# node"): the same load scenario against one node (the in-process engine), against one node
# with --redis, and against two nodes sharing one redis-server, with each room's members
# split between the two nodes (tutti-loadgen --port A,B) so that every delivery crosses
# Redis. The configurations alternate within each repetition (A B C, then C B A) so that
# they see the same machine; the summary gives each one's medians, the per-repetition
# ratios to one node and the Lua sequencer's calls per Redis core-second (INFO
# commandstats after CONFIG RESETSTAT, against redis-server's CPU from /proc).
#
# usage: bench/redis_ab.sh [--build DIR] [--out DIR] [--reps N] [--configs "one redis1 two"]
#                          SCENARIO...
# scenarios: lobby-light (1 x 64, 8 players x 100/s: 50k deliveries/s), lobby (8 x 1000/s:
#            504k/s), rooms-light (200 x 5, 2 players x 10/s: 16k/s), rooms-200x5 (x 75/s:
#            120k/s); every run sends for 10 s.
# Everything listens on 127.0.0.1 only, every run is bounded in time, each process (redis-
# server, the nodes) lives in its own temp dir and is ended by its PID; nothing is pinned
# (the machine is shared), so read the ratios of interleaved runs, not absolute figures.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
out="bench-results-redis"
reps=3
configs="one redis1 two"
scenarios=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --configs) configs=$2; shift 2 ;;
    -h|--help) sed -n 2,18p "$0"; exit 0 ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
[[ ${#scenarios[@]} -gt 0 ]] || { sed -n 2,18p "$0"; exit 2; }
server_bin="$build/server/tutti-server"
loadgen_bin="$build/tools/loadgen/tutti-loadgen"
[[ -x "$server_bin" && -x "$loadgen_bin" ]] || { echo "build tutti-server and tutti-loadgen in $build first"; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing (tools/setup.sh installs it)"; exit 1; }
mkdir -p "$out"

# As bench/run_scenarios.sh: quotas raised (one generator stands in for many clients),
# loopback exempt from the per-address limits; no admin listener (two nodes would share its
# port).
server_flags=(--dev --drain-grace-s=0 --port 0 --shards 1 --admin-listen ""
              --notes-per-second 100000 --note-burst 100000 --chat-per-second 100
              --chat-burst 200 --max-rooms 10000 --exempt-networks 127.0.0.0/8)

args_for() {
  case "$1" in
    lobby-light) echo "--scenario lobby --room-size 64 --players 8 --rate 100" ;;
    lobby)       echo "--scenario lobby --room-size 64 --players 8 --rate 1000" ;;
    rooms-light) echo "--scenario rooms --rooms 200 --room-size 5 --players 2 --rate 10" ;;
    rooms-200x5) echo "--scenario rooms --rooms 200 --room-size 5 --players 2 --rate 75" ;;
    *) return 1 ;;
  esac
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pids=()
work=
stop_all() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  [[ -n "$work" ]] && rm -rf "$work"
  work=
}
trap stop_all EXIT

wait_port() {  # wait_port LOG: the node's port once it listens
  local port=
  for _ in $(seq 1 150); do
    port=$(grep -so 'listening on ws://127.0.0.1:[0-9]*' "$1" | sed 's/.*://' || true)
    [[ -n "$port" ]] && { echo "$port"; return 0; }
    sleep 0.1
  done
  echo "node did not start:" >&2
  cat "$1" >&2
  return 1
}

start_redis() {  # sets redis_pid and redis_port
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$work" >"$work/redis.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 1 100); do
    [[ $(redis-cli -p "$redis_port" ping 2>/dev/null || true) == PONG ]] && return 0
    sleep 0.1
  done
  echo "redis-server did not start"; cat "$work/redis.log"; return 1
}

start_node() {  # start_node NAME [flags...]: appends to node_pids and node_ports
  local name=$1
  shift
  "$server_bin" "${server_flags[@]}" --keys "$work/keys" --data "$work/$name" "$@" \
    >"$work/$name.log" 2>&1 &
  pids+=("$!")
  node_pids+=("$!")
  node_ports+=("$(wait_port "$work/$name.log")")
}

redis_ticks() {  # redis-server's CPU time so far, in clock ticks (utime + stime)
  awk '{print $14 + $15}' "/proc/$redis_pid/stat"
}

for rep in $(seq 1 "$reps"); do
  # A B B A: odd repetitions run the configurations in order, even ones in reverse, so
  # that a drift of the machine's load over a repetition does not favour one of them.
  order=$configs
  (( rep % 2 == 0 )) && order=$(echo "$configs" | tr ' ' '\n' | tac | tr '\n' ' ')
  for scenario in "${scenarios[@]}"; do
    args=$(args_for "$scenario") || { echo "unknown scenario $scenario"; exit 2; }
    for config in $order; do
      work=$(mktemp -d)
      node_pids=()
      node_ports=()
      redis_flags=()
      redis_pid=0
      case "$config" in
        one) start_node a ;;
        redis1) start_redis; start_node a --redis "127.0.0.1:$redis_port" ;;
        two)
          start_redis
          # The second node reads the key set the first one made.
          start_node a --redis "127.0.0.1:$redis_port"
          start_node b --redis "127.0.0.1:$redis_port" ;;
        *) echo "unknown config $config"; exit 2 ;;
      esac
      ticks0=0
      if [[ $redis_pid != 0 ]]; then
        redis_flags=(--redis-pid "$redis_pid")
        redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
        ticks0=$(redis_ticks)
      fi
      ports=$(IFS=,; echo "${node_ports[*]}")
      spids=$(IFS=,; echo "${node_pids[*]}")
      echo "== $scenario $config rep $rep/$reps (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
      # shellcheck disable=SC2086
      if "$loadgen_bin" --port "$ports" --keys "$work/keys" $args --duration 10 --warmup 1 \
          --drain 5 --setup-timeout 60 --server-pid "$spids" "${redis_flags[@]}" --json --quiet \
          >"$work/run.json"; then
        # The whole run's script calls (Redis's own count and time inside each command)
        # and redis-server's CPU over the same span: the sequencer's cost per call.
        : >"$work/cmdstats.txt"
        redis_cpu_s=0
        if [[ $redis_pid != 0 ]]; then
          redis-cli -p "$redis_port" INFO commandstats >"$work/cmdstats.txt"
          redis_cpu_s=$(python3 -c "import os; print(($(redis_ticks) - $ticks0) / os.sysconf('SC_CLK_TCK'))")
        fi
        python3 - "$scenario" "$config" "$rep" "$work/run.json" "$out/runs.jsonl" \
            "$work/cmdstats.txt" "$redis_cpu_s" <<'PY'
import json, sys
scenario, config, rep, path, dest = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
r = json.load(open(path))
r["preset"], r["config"], r["rep"] = scenario, config, rep
r["loadavg"] = open("/proc/loadavg").read().split()[:3]
# cmdstat_evalsha:calls=N,usec=U,usec_per_call=X,...
stats = {}
for line in open(sys.argv[6]):
    if line.startswith("cmdstat_"):
        name, _, fields = line.strip().partition(":")
        stats[name[8:]] = {k: float(v) for k, v in (f.split("=") for f in fields.split(",")) if k in ("calls", "usec")}
if stats:
    script = [stats.get(c, {}) for c in ("evalsha", "eval")]
    r["redis_run"] = {
        "cpu_s": float(sys.argv[7]),
        "script_calls": sum(s.get("calls", 0) for s in script),
        "script_usec": sum(s.get("usec", 0) for s in script),
        "all_calls": sum(s.get("calls", 0) for s in stats.values()),
        "all_usec": sum(s.get("usec", 0) for s in stats.values()),
    }
with open(dest, "a") as f:
    f.write(json.dumps(r) + "\n")
lat = r["latency"]
print(f"   {r['deliveries_per_s']:.0f} deliveries/s, p50 {lat['p50_us']} us, p99 {lat['p99_us']} us, "
      f"lost {r['midi_lost']}, clamped {r['midi_clamped']}, nodes {r['server_cpu_us_per_delivery']:.2f} "
      f"us/delivery, redis {r['redis_cpu_us_per_send']:.1f} us/message", file=sys.stderr)
PY
      else
        echo "   run failed" >&2
        tail -5 "$work"/*.log >&2 || true
      fi
      stop_all
    done
  done
done
python3 "$here/redis_ab_summary.py" "$out/runs.jsonl"
