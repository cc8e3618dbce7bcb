#!/usr/bin/env bash
# Runs a command while other processes keep every core busy, to show that tests do not depend
# on timing or load (the suite must pass with both cores saturated by another process).
#
#   tools/load_companion.sh [-n LOOPS] [-t SECONDS] -- COMMAND [ARGS...]
#
# Starts LOOPS busy loops (default: one per core), each bounded by `timeout SECONDS` (default
# 1800) so none outlives a crashed run, runs COMMAND at the same priority, then stops the loops
# by the PIDs it started (never by name) and exits with COMMAND's status.
# Example: tools/load_companion.sh -- ctest --test-dir build -R 'midi_io|integration' -j2
set -euo pipefail

loops=$(nproc 2>/dev/null || echo 2)
seconds=1800
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) loops=$2; shift 2 ;;
    -t) seconds=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [[ $# -eq 0 ]]; then
  echo "usage: $0 [-n LOOPS] [-t SECONDS] -- COMMAND [ARGS...]" >&2
  exit 2
fi
if ! [[ $loops =~ ^[0-9]+$ && $seconds =~ ^[0-9]+$ && $loops -le 64 && $seconds -ge 1 ]]; then
  echo "$0: LOOPS must be 0..64 and SECONDS a positive number" >&2
  exit 2
fi

pids=()
stop_loops() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true  # timeout passes the signal on to its loop
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap stop_loops EXIT INT TERM

for ((i = 0; i < loops; i++)); do
  timeout "$seconds" bash -c 'while :; do :; done' &
  pids+=("$!")
done
echo "load_companion: $loops busy loop(s), at most ${seconds}s, pids ${pids[*]}" >&2

status=0
"$@" || status=$?
stop_loops
exit "$status"
