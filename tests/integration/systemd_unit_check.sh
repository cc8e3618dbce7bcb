#!/usr/bin/env bash
# Checks contrib/systemd: the unit passes `systemd-analyze verify` without a warning (an
# unknown or misspelt hardening key is only a warning there, so a warning fails here), it
# keeps its hardening and readiness settings, and the example configuration with the unit's
# own command line is accepted by the built tutti-server (--print-config).
#   systemd_unit_check.sh CONTRIB_SYSTEMD_DIR TUTTI_SERVER_BINARY
set -euo pipefail
dir=$1
server=$2
unit=$dir/tutti.service
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not installed (Debian package systemd)"
  exit 0
fi
# verify wants the ExecStart binary to exist: point it at the built one.
sed "s#/usr/local/bin/tutti-server#$server#" "$unit" >"$work/tutti.service"
if ! out=$(systemd-analyze verify "$work/tutti.service" 2>&1) || [[ -n "$out" ]]; then
  echo "FAIL: systemd-analyze verify:"
  echo "$out"
  exit 1
fi
for key in Type=notify NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
  CapabilityBoundingSet= RestrictAddressFamilies= SystemCallFilter=@system-service \
  RestartPreventExitStatus=78 ExecReload=; do
  grep -q "^$key" "$unit" || { echo "FAIL: $unit lacks $key"; exit 1; }
done
# The unit's ExecStart arguments, with the example configuration, must parse.
args=$(sed -n 's#^ExecStart=/usr/local/bin/tutti-server ##p' "$unit")
args=${args//\/etc\/tutti\/tutti.toml/$dir/tutti.toml}
# shellcheck disable=SC2086  # the arguments are the unit's words
if ! printed=$("$server" $args --print-config); then
  echo "FAIL: tutti-server refused the unit's command line with $dir/tutti.toml"
  exit 1
fi
grep -q '^drain_grace_s = 10  # (reload)$' <<<"$printed" || { echo "FAIL: $printed"; exit 1; }
grep -q '^key_dir = "/etc/tutti/keys"$' <<<"$printed" || { echo "FAIL: $printed"; exit 1; }
# The stop timeout must leave room for the drain.
grace=$(sed -n 's/^drain_grace_s = \([0-9]*\).*/\1/p' <<<"$printed")
stop=$(sed -n 's/^TimeoutStopSec=//p' "$unit")
((stop > grace + 5)) || { echo "FAIL: TimeoutStopSec=$stop leaves no room for drain_grace_s=$grace"; exit 1; }
echo "OK: $unit"
