#!/usr/bin/env bash
# Smoke test for tutti-loadgen (a correctness check, never a performance one): start a
# server on an ephemeral loopback port, run a 2 s lobby scenario and a short churn, and
# require every expected delivery to have arrived. Usage: loadgen_smoke_test.sh SERVER LOADGEN
set -euo pipefail
server_bin=$1
loadgen_bin=$2
dir=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$server_bin" --dev --drain-grace-s=0 --port 0 --shards 2 --keys "$dir/keys" --data "$dir/data" \
  --exempt-networks 127.0.0.0/8 >"$dir/server.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 1 100); do
  port=$(grep -so 'listening on ws://127.0.0.1:[0-9]*' "$dir/server.log" | sed 's/.*://' || true)
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { echo "server did not start"; cat "$dir/server.log"; exit 1; }

check() {  # check NAME JSON: zero lost, something delivered, nothing failed
  python3 - "$1" "$2" <<'PY'
import json, sys
name, r = sys.argv[1], json.loads(sys.argv[2])
problems = []
if r["connections_failed"] or r["closed_by_server"] or r["joins_failed"]:
    problems.append("connection/join failures")
if r["midi_received"] == 0:
    problems.append("nothing delivered")
if r["midi_lost"] or r["chat_lost"]:
    problems.append("lost deliveries")
if r["midi_refused"]:
    problems.append("refused sends")
print(f"{name}: sent {r['midi_sent']} expected {r['midi_expected']} received {r['midi_received']} "
      f"lost {r['midi_lost']} chat lost {r['chat_lost']} churn cycles {r['churn_cycles']}")
if problems:
    print(name + ": FAILED: " + ", ".join(problems) + "; first error: " + r["first_error"])
    sys.exit(1)
PY
}

# Default quotas: 16 members, 4 players at 100 msg/s each stay well inside them.
out=$("$loadgen_bin" --port "$port" --keys "$dir/keys" --scenario lobby --room-size 16 \
      --players 4 --rate 100 --duration 2 --warmup 0.5 --quiet --json --server-pid "$server_pid")
check lobby "$out"
out=$("$loadgen_bin" --port "$port" --keys "$dir/keys" --scenario chat --room-size 8 \
      --players 2 --rate 50 --chat-rate 1 --duration 2 --warmup 0.5 --quiet --json)
check chat "$out"
out=$("$loadgen_bin" --port "$port" --keys "$dir/keys" --scenario churn --rooms 4 --room-size 4 \
      --players 1 --rate 50 --churn-rate 20 --duration 2 --warmup 0.5 --quiet --json)
check churn "$out"
python3 -c "import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r['churn_cycles']>0 else 1)" "$out" \
  || { echo "churn: no cycle completed"; exit 1; }
echo "loadgen smoke: ok"
