#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and the tools need.
# Idempotent: packages already present are skipped, so a second run is quick.
set -euo pipefail

# librtmidi-dev, libjack-jackd2-dev and jackd2 must come in one apt command:
# installing jackd2 alone would remove librtmidi-dev (it pulls libjack0 otherwise).
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  protobuf-compiler libprotobuf-dev
  libsodium-dev
  libwebsocketpp-dev libboost-dev libboost-system-dev
  libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3 zlib1g-dev
  librtmidi-dev libjack-jackd2-dev jackd2
  clang-format python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
