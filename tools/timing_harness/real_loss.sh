#!/usr/bin/env bash
# real_loss.sh: tutti-timing-harness with real kernel packet loss (issue 16, docs/TIMING.md).
#
# Two network namespaces of its own, joined by a veth pair: tutti-server runs in one, the
# harness (its relays and both bots) in the other, so every leg's TCP connection between a
# relay and the server crosses the veth. nftables drops packets there at random in both
# directions (`numgen random mod 10000 < N drop`; these kernels have no netem, and iptables'
# statistic match is the same idea), so the figures include real TCP retransmissions, their
# backoff and the head-of-line stalls behind them. Delay and jitter, if wanted, still come
# from the harness's relay (--delay-ms/--jitter-ms, passed through).
#
# --kernel-delay-ms D [--kernel-jitter-ms J] puts the path's delay into the kernel's path instead:
# the namespaces are joined by two tun devices through delay_line.py (next to this script), which
# holds each packet D +- J ms and does the random drop itself, so a loss is repaired on the
# path's real round trip (over the veth the round trip is well under a millisecond, whatever
# --delay-ms the relay adds in userspace) and it prints how long each repair took. Give the
# harness --delay-ms 0 then, or the relay adds its delay on top.
#
# Needs root (namespaces, nft). Without root, ip or nft it prints why and exits 77 (skipped).
# Namespaces, veth and rules are created with names unique to this run and deleted on every
# exit path (trap), including failure and Ctrl-C.
#
# Usage:
#   tools/timing_harness/real_loss.sh [--loss-percent P] [--harness PATH]
#       [--kernel-delay-ms D --kernel-jitter-ms J --line-seed N --line-log FILE] [-- harness flags]
#   tools/timing_harness/real_loss.sh --check    # set up, verify, tear down, verify (ctest)
# Example (1 % loss each way, 60 s of music):
#   tools/timing_harness/real_loss.sh --loss-percent 1 -- --duration-s 60 --realtime --seed 1
# The same on a 30 +- 10 ms path in the kernel:
#   tools/timing_harness/real_loss.sh --loss-percent 1 --kernel-delay-ms 30 --kernel-jitter-ms 10 \
#       -- --duration-s 60 --realtime --seed 1
set -euo pipefail

loss_percent=1
harness=""
check=0
kernel_delay=""
kernel_jitter=0
line_seed=1
line_log=""
while [ $# -gt 0 ]; do
  case "$1" in
    --loss-percent) loss_percent="$2"; shift 2 ;;
    --harness) harness="$2"; shift 2 ;;
    --check) check=1; shift ;;
    --kernel-delay-ms) kernel_delay="$2"; shift 2 ;;
    --kernel-jitter-ms) kernel_jitter="$2"; shift 2 ;;
    --line-seed) line_seed="$2"; shift 2 ;;
    --line-log) line_log="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "real_loss.sh: unknown argument $1 (harness flags go after --)" >&2; exit 2 ;;
  esac
done

skip() {
  echo "real_loss.sh: SKIPPED: $*"
  exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces and nftables rules)"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) not installed"
command -v nft >/dev/null 2>&1 || skip "nft not installed (tools/setup.sh installs nftables)"

# Loss in units of 0.01 %: nft's numgen compares integers.
per_10000=$(awk -v p="$loss_percent" 'BEGIN { if (p < 0 || p > 100) exit 1; printf "%d", p * 100 + 0.5 }') ||
  { echo "real_loss.sh: --loss-percent must be from 0 to 100" >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -n "$kernel_delay" ]; then
  command -v python3 >/dev/null 2>&1 || skip "python3 not installed (--kernel-delay-ms runs delay_line.py)"
  [ -c /dev/net/tun ] || skip "no /dev/net/tun (--kernel-delay-ms needs tun devices)"
fi
if [ -z "$harness" ] && [ "$check" -eq 0 ]; then
  harness="$here/build/tools/timing_harness/tutti-timing-harness"
fi
if [ "$check" -eq 0 ] && [ ! -x "$harness" ]; then
  echo "real_loss.sh: no harness at $harness (build tutti-timing-harness, or --harness PATH)" >&2
  exit 2
fi

# Unique per run: the PID keeps concurrent runs apart; interface names fit in 15 characters.
id="$$"
ns_server="tutti-loss-$id-s"
ns_client="tutti-loss-$id-c"
veth_server="tls$id"
veth_client="tlc$id"
# A private /30 in 10.0.0.0/8, varied by the PID so that two runs never share one (they are in
# separate namespaces anyway).
octet2=$(( (id / 250) % 250 + 1 ))
octet3=$(( id % 250 + 1 ))
addr_server="10.$octet2.$octet3.1"
addr_client="10.$octet2.$octet3.2"

tun_server="tus$id"
tun_client="tuc$id"
line_pid=""
line_out=""
stop_line() {
  if [ -n "$line_pid" ]; then
    kill "$line_pid" 2>/dev/null || true
    wait "$line_pid" 2>/dev/null || true
    line_pid=""
  fi
}
harness_pid=""
cleanup() {
  # The harness first (its server child follows it: PR_SET_PDEATHSIG), then the namespaces.
  if [ -n "$harness_pid" ]; then
    kill "$harness_pid" 2>/dev/null || true
    wait "$harness_pid" 2>/dev/null || true
    harness_pid=""
  fi
  stop_line
  [ -n "$line_out" ] && rm -f "$line_out"
  # Deleting a namespace deletes its end of the veth, which deletes the pair, and its rules.
  ip netns del "$ns_server" 2>/dev/null || true
  ip netns del "$ns_client" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns_server"
ip netns add "$ns_client"
if [ -z "$kernel_delay" ]; then
  ip link add "$veth_server" netns "$ns_server" type veth peer name "$veth_client" netns "$ns_client"
  ip -n "$ns_server" addr add "$addr_server/30" dev "$veth_server"
  ip -n "$ns_client" addr add "$addr_client/30" dev "$veth_client"
else
  # The delay line opens both tun devices here and keeps them while it runs; each is then moved
  # into its namespace (the open file keeps working) as a point-to-point link to the other.
  line_out=$(mktemp)
  line_loss=$(awk -v p="$loss_percent" 'BEGIN { printf "%.6f", p / 100 }')
  python3 "$here/tools/timing_harness/delay_line.py" --tun-a "$tun_client" --tun-b "$tun_server" \
    --delay-ms "$kernel_delay" --jitter-ms "$kernel_jitter" --loss "$line_loss" \
    --seed "$line_seed" ${line_log:+--log "$line_log"} >"$line_out" 2>&1 &
  line_pid=$!
  for _ in $(seq 100); do grep -q ready "$line_out" && break; sleep 0.1; done
  grep -q ready "$line_out" || { echo "real_loss.sh: delay_line.py did not start:" >&2; cat "$line_out" >&2; exit 1; }
  ip link set "$tun_server" netns "$ns_server"
  ip link set "$tun_client" netns "$ns_client"
  ip -n "$ns_server" addr add "$addr_server" peer "$addr_client" dev "$tun_server"
  ip -n "$ns_client" addr add "$addr_client" peer "$addr_server" dev "$tun_client"
  # The line drops; the rules below only count.
  veth_server="$tun_server"
  veth_client="$tun_client"
  per_10000=0
fi
for ns in "$ns_server" "$ns_client"; do ip -n "$ns" link set lo up; done
ip -n "$ns_server" link set "$veth_server" up
ip -n "$ns_client" link set "$veth_client" up

# Drop at random on the veth only, each direction once (in the server's namespace: packets to
# the server on input, from it on output). Counters show what was dropped.
ip netns exec "$ns_server" nft -f - <<EOF
table inet tutti_loss {
  chain in {
    type filter hook input priority 0; policy accept;
    iifname "$veth_server" counter
    iifname "$veth_server" numgen random mod 10000 < $per_10000 counter drop
  }
  chain out {
    type filter hook output priority 0; policy accept;
    oifname "$veth_server" counter
    oifname "$veth_server" numgen random mod 10000 < $per_10000 counter drop
  }
}
EOF

if [ "$check" -eq 1 ]; then
  # The veth carries TCP (a SYN to a closed port across it is answered by a reset: "refused";
  # a lost SYN is retransmitted within the timeout) and the rules are loaded; then tear down
  # and check that nothing of this run is left.
  reply=$(ip netns exec "$ns_client" timeout 10 bash -c "echo > /dev/tcp/$addr_server/9" 2>&1 || true)
  case "$reply" in
    *refused*) ;;
    *) echo "real_loss.sh: no TCP answer across the veth: $reply" >&2; exit 1 ;;
  esac
  # Each listing read whole before it is searched: `nft ... | grep -q` under pipefail fails
  # whenever grep exits at its match before nft has written everything (SIGPIPE), silently.
  rules=$(ip netns exec "$ns_server" nft list table inet tutti_loss)
  if ! grep -q "numgen random mod 10000 < $per_10000" <<<"$rules"; then
    echo "real_loss.sh: the loss rules are not loaded as written:" >&2
    echo "$rules" >&2
    exit 1
  fi
  cleanup
  namespaces=$(ip netns list)
  if grep -q "tutti-loss-$id-" <<<"$namespaces"; then
    echo "real_loss.sh: namespaces of this run still present after cleanup" >&2
    exit 1
  fi
  echo "real_loss.sh: check ok (namespaces $ns_server/$ns_client, veth, $loss_percent % loss rules; removed)"
  exit 0
fi

[ -n "$kernel_delay" ] && echo "real_loss.sh: $kernel_delay +- $kernel_jitter ms each way in the kernel's path (delay_line.py)"
echo "real_loss.sh: $loss_percent % loss each way on $veth_server ($addr_server, server) <-> $veth_client ($addr_client, harness)"
status=0
path_name="veth"
[ -n "$kernel_delay" ] && path_name="$kernel_delay +- $kernel_jitter ms kernel delay line"
# With loss, TCP's retransmissions stall the path: the harness then counts note-ons its stall
# policy drops as measured figures rather than as a correctness failure.
loss_flag=()
if awk -v p="$loss_percent" 'BEGIN { exit !(p > 0) }'; then loss_flag=(--external-loss); fi
# In the background and waited for, so that a TERM to this script runs the trap at once (bash
# defers traps until a foreground command ends).
ip netns exec "$ns_client" "$harness" --server-netns "$ns_server" --server-host "$addr_server" \
  --name "layer 2, real loss $loss_percent % each way (namespace, $path_name)" \
  "${loss_flag[@]}" "$@" &
harness_pid=$!
wait "$harness_pid" || status=$?
harness_pid=""
# Each chain's first counter sees every packet on the veth, its second the ones dropped.
counts=$(ip netns exec "$ns_server" nft list table inet tutti_loss | grep -o "packets [0-9]*" | awk '{ print $2 }' | tr '\n' ' ')
read -r in_all in_drop out_all out_drop <<<"$counts" || true
if [ -z "$kernel_delay" ]; then
  echo "real_loss.sh: dropped $in_drop of $in_all packets to the server, $out_drop of $out_all from it"
else
  stop_line
  cat "$line_out"
fi
# How the kernel repaired the losses, per side (each namespace counts only this run's sockets):
# fast recovery (RACK or duplicate ACKs, after later data was SACKed), tail loss probes,
# retransmission timeouts, retransmissions lost again. docs/TIMING.md reads them.
for side in server:"$ns_server" harness:"$ns_client"; do
  counters=$(ip netns exec "${side#*:}" nstat -asz 2>/dev/null |
    awk '$1 ~ /^(TcpRetransSegs|TcpExtTCPSackRecovery|TcpExtTCPLossProbes|TcpExtTCPLossProbeRecovery|TcpExtTCPTimeouts|TcpExtTCPLostRetransmit|TcpExtTCPSpuriousRTOs|TcpExtTCPFastRetrans)$/ { printf "%s %s ", $1, $2 }')
  echo "real_loss.sh: tcp ${side%%:*} side: ${counters:-(nstat not available)}"
done
exit "$status"
