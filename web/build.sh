#!/usr/bin/env bash
# Builds web/dist (the page tutti-server serves). Installs the pinned npm packages first
# when node_modules is missing or older than package-lock.json, and compiles the timing
# core to WebAssembly when a source is newer than the module.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "web: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch node_modules
fi
# midi/'s timing core in WebAssembly, which the bundle includes (a no-op when up to date).
bash ../tools/build_wasm.sh
exec node build.mjs "$@"
