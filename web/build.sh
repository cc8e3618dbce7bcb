#!/usr/bin/env bash
# Builds web/dist (the page tutti-server serves). Installs the pinned npm packages first
# when node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "web: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch node_modules
fi
exec node build.mjs "$@"
