#!/usr/bin/env bash
# A/B: does serving the browser client's static files slow the WebSocket path?
# Alternates runs of the lobby scenario (64 in one room, 8 play 1,000 msg/s: 504k
# deliveries/s) on a fresh server pinned to one core:
#   A  --web-root "" (nothing to serve; the WebSocket path alone)
#   B  --web-root DIR, and during the run a page load every 100 ms (index.html, then every
#      file under DIR/assets but source maps) from the loadgen's core
# Bounded: each run is the scenario's 10 s plus setup; the fetch loop stops with the run
# and after at most 200 page loads. Only 127.0.0.1; only processes started here are ended.
# usage: bench/static_ab.sh WEB_ROOT [--build DIR] [--out DIR] [--pairs N] [--rate R]
#   --rate: MIDI messages per second per player (1000 = lobby, 100 = lobby-light)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/scenario_presets.sh
source "$here/scenario_presets.sh"
web_root=$(cd "${1:?usage: bench/static_ab.sh WEB_ROOT [--build DIR] [--out DIR] [--pairs N]}" && pwd)
shift
build="$here/../build"
out="static-ab"
pairs=2
rate=1000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
server_bin="$build/server/tutti-server"
loadgen_bin="$build/tools/loadgen/tutti-loadgen"
[[ -x "$server_bin" && -x "$loadgen_bin" ]] || { echo "build tutti-server and tutti-loadgen first"; exit 1; }
mkdir -p "$out"
paths=(/)
while IFS= read -r f; do paths+=("/${f#"$web_root"/}"); done < <(find "$web_root/assets" -type f ! -name '*.map' 2>/dev/null | sort)

server_pid= fetch_pid=
cleanup() {
  [[ -n "$fetch_pid" ]] && { kill "$fetch_pid" 2>/dev/null || true; wait "$fetch_pid" 2>/dev/null || true; }
  [[ -n "$server_pid" ]] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  fetch_pid= server_pid=
}
trap cleanup EXIT

run() {  # $1 = A or B, $2 = run number
  local variant=$1 n=$2 work port root=""
  work=$(mktemp -d)
  [[ "$variant" == B ]] && root="$web_root"
  taskset -c 0 "$server_bin" --dev --drain-grace-s=0 --port 0 --shards 1 --keys "$work/keys" --data "$work/data" \
    --web-root "$root" --notes-per-second 100000 --note-burst 100000 >"$work/server.log" 2>&1 &
  server_pid=$!
  port=$(server_port "$work/server.log")
  [[ -n "$port" ]] || { cat "$work/server.log"; exit 1; }
  if [[ "$variant" == B ]]; then
    # One long-lived node process (not a curl per request, whose start-up would take the
    # loadgen's core); it reports what it fetched when stopped.
    taskset -c 1 node -e '
      const http = require("http");
      const [port, ...paths] = process.argv.slice(1);
      let pages = 0, requests = 0, bytes = 0;
      const get = (p) => new Promise((res) => http.get({ host: "127.0.0.1", port, path: p, agent: false },
        (r) => { r.on("data", (d) => { bytes += d.length; }); r.on("end", () => { requests++; res(); }); })
        .on("error", () => res()));
      process.on("SIGTERM", () => {
        console.error(`fetched ${pages} page loads, ${requests} requests, ${bytes} bytes`);
        process.exit(0);
      });
      (async () => {
        for (; pages < 200; pages++) {
          for (const p of paths) await get(p);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();' "$port" "${paths[@]}" 2>>"$out/fetch.log" &
    fetch_pid=$!
  fi
  taskset -c 1 "$loadgen_bin" --port "$port" --keys "$work/keys" --scenario lobby --room-size 64 \
    --players 8 --rate "$rate" --duration 10 --server-pid "$server_pid" --json --quiet >"$work/run.json"
  if [[ -n "$fetch_pid" ]]; then
    kill "$fetch_pid" 2>/dev/null || true
    wait "$fetch_pid" 2>/dev/null || true
    fetch_pid=
  fi
  VARIANT=$variant RUN=$n python3 - "$work/run.json" "$out/runs.jsonl" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
r["variant"], r["run"] = os.environ["VARIANT"], int(os.environ["RUN"])
r["loadavg"] = open("/proc/loadavg").read().split()[:3]
open(sys.argv[2], "a").write(json.dumps(r) + "\n")
lat = r["latency"]
print(f"{r['variant']} run {r['run']}: {r['deliveries_per_s']:.0f} deliveries/s, p50 {lat['p50_us']} us, "
      f"p99 {lat['p99_us']} us, lost {r['midi_lost']}, server {r['server_cpu_us_per_delivery']:.3f} us/delivery, "
      f"load average {r['loadavg'][0]}", file=sys.stderr)
PY
  cleanup
  rm -rf "$work"
}

for i in $(seq 1 "$pairs"); do
  run A "$i"
  run B "$i"
done
