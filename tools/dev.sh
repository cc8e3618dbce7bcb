#!/usr/bin/env bash
# The README's two entry points.
#   tools/dev.sh server [server flags]  set up, build, run the server on the embedded default
#   tools/dev.sh test                   set up, build, run every test (plain, then ASan/UBSan)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
# ccache (when installed; CMakeLists.txt uses it) keyed on paths relative to this
# clone, so a fresh clone reuses the objects an earlier one built.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

configure() {  # $1 = build dir, rest = extra cmake args
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DTUTTI_TEST_DIRS= "$@" >/dev/null
}

case "${1:-}" in
  server)
    shift
    bash tools/setup.sh
    configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    cmake --build build -j "$jobs" --target tutti-server tutti-cli tutti-keygen tutti-token
    bash tools/build_wasm.sh  # midi/'s timing core for the page (web/src/timing/gen)
    bash web/build.sh  # the page the server serves (web/dist)
    # --dev: a first run generates var/keys and prints a connect URL (docs/OPERATIONS.md).
    exec build/server/tutti-server --dev "$@"
    ;;
  test)
    bash tools/setup.sh
    configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    cmake --build build -j "$jobs"
    bash tools/build_wasm.sh
    bash web/build.sh
    ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600
    # The same tests under AddressSanitizer and UBSan (benchmarks are not built there).
    configure build-asan -DCMAKE_BUILD_TYPE=Debug -DTUTTI_SANITIZE=ON -DTUTTI_BUILD_BENCH=OFF
    cmake --build build-asan -j "$jobs"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900
    ;;
  *)
    echo "usage: tools/dev.sh server [tutti-server flags] | tools/dev.sh test" >&2
    exit 2
    ;;
esac
