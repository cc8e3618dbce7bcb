#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and the tools need.
# Idempotent: packages already present are skipped, so a second run is quick.
set -euo pipefail

# librtmidi-dev, libjack-jackd2-dev and jackd2 must come in one apt command:
# installing jackd2 alone would remove librtmidi-dev (it pulls libjack0 otherwise).
PACKAGES=(
  build-essential cmake ninja-build pkg-config git ccache
  protobuf-compiler libprotobuf-dev
  libsodium-dev
  libwebsocketpp-dev libboost-dev libboost-system-dev
  libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3 zlib1g-dev
  # Rooms across nodes: the Redis engine's client library, and the redis-server its tests start.
  libhiredis-dev redis-server
  # The store's PostgreSQL driver (libpq) and the server its tests start themselves
  # (initdb and postgres from /usr/lib/postgresql/15/bin, in a temporary directory).
  libpq-dev postgresql-15
  # sd_notify for contrib/systemd/tutti.service (Type=notify); systemd-analyze checks the unit.
  libsystemd-dev systemd
  # Metrics: prometheus-cpp's core and text serializer; promtool (in prometheus) checks a
  # real scrape in the tests, and the prometheus server scrapes one.
  prometheus-cpp-dev prometheus
  librtmidi-dev libjack-jackd2-dev jackd2
  # tutti-play (tools/play): the built-in GM synth with Debian's small GM soundfont
  # (fluid-soundfont-gm, larger and richer, is found too when installed), its terminal UI,
  # and tmux, which drives that UI in the tests.
  libfluidsynth-dev timgm6mb-soundfont libncurses-dev tmux
  clang-format python3
  # The timing harness's real-loss run (tools/timing_harness/real_loss.sh): packet drop rules
  # on a veth pair between network namespaces (these kernels have no netem).
  nftables
  chromium  # the browser tests: tests/interop/browser_test.mjs, web/test/
  emscripten node-acorn  # midi/'s timing core in WebAssembly (tools/build_wasm.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

if [ ${#missing[@]} -ne 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  # Debian's postgresql-15 would create and start a cluster of its own ("main", port
  # 5432) on install; Tutti's tests start their own servers and need none.
  if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ ! -e /etc/postgresql-common/createcluster.d/tutti.conf ]; then
    $SUDO mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/tutti.conf >/dev/null
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------------------
# Interop test (tests/interop, ctest label "interop"): Node.js and its npm packages.
# A node/npm already on PATH (possibly newer than Debian's) is kept as it is.
node_missing=()
command -v node >/dev/null 2>&1 || node_missing+=(nodejs)
command -v npm >/dev/null 2>&1 || node_missing+=(npm)
if [ ${#node_missing[@]} -ne 0 ]; then
  echo "setup: installing ${node_missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${node_missing[@]}" >/dev/null
fi

# npm ci (exact versions from package-lock.json) when node_modules is missing or older
# than the lock file.
# tests/interop (the interop tests) and web/ (the web client and its tests).
repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for npm_dir in "$repo_dir/tests/interop" "$repo_dir/web"; do
  if [ ! -d "$npm_dir/node_modules" ] ||
     [ "$npm_dir/package-lock.json" -nt "$npm_dir/node_modules" ]; then
    echo "setup: npm ci in ${npm_dir#"$repo_dir"/}" >&2
    (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$npm_dir/node_modules"
  fi
done
