# Sourced by the load scripts (bench/run_scenarios.sh, bench/ab.sh, bench/static_ab.sh):
# the server flags a load run uses, each scenario's tutti-loadgen arguments, and how a
# script learns the port its server listens on, written once so that every script
# measures the same thing under the same name (docs/PERFORMANCE.md).

# Load-test limits: the quotas protect a server from one client; here one client is a
# stand-in for many, so they are raised (the flags map onto ServerConfig).
# The load generator is one address standing in for thousands of clients, so loopback
# is exempt from the per-address connection limits.
# shellcheck disable=SC2034  # used by the scripts that source this file
server_flags=(--notes-per-second 100000 --note-burst 100000 --chat-per-second 100
              --chat-burst 200 --max-rooms 10000 --exempt-networks 127.0.0.0/8)

# Scenario presets: loadgen arguments. Deliveries/s = players x rate x (room size - 1).
args_for() {
  case "$1" in
    lobby-light) echo "--scenario lobby --room-size 64 --players 8 --rate 100 --duration 10" ;;  # 50k/s
    lobby)       echo "--scenario lobby --room-size 64 --players 8 --rate 1000 --duration 10" ;; # 504k/s
    lobby-max)   echo "--scenario lobby --room-size 64 --players 8 --rate 2000 --duration 10" ;; # 1M/s offered
    rooms-200x5) echo "--scenario rooms --rooms 200 --room-size 5 --players 2 --rate 75 --duration 10" ;;  # 120k/s
    rooms-200x5-light) echo "--scenario rooms --rooms 200 --room-size 5 --players 2 --rate 25 --duration 10" ;;  # 40k/s
    rooms-200x5-max) echo "--scenario rooms --rooms 200 --room-size 5 --players 2 --rate 150 --duration 10" ;; # 240k/s offered
    rooms-500x8) echo "--scenario rooms --rooms 500 --room-size 8 --players 2 --rate 18 --duration 10" ;;  # 126k/s
    rooms-500x8-max) echo "--scenario rooms --rooms 500 --room-size 8 --players 2 --rate 40 --duration 10" ;; # 280k/s offered
    idle)        echo "--scenario idle --connections ${IDLE_CONNECTIONS:-19000} --duration 5 --setup-timeout 120" ;;
    idle-rooms)  echo "--scenario idle-rooms --rooms $(( ${IDLE_MEMBERS:-10000} / 10 )) --room-size 10 --duration 30 --setup-timeout 120" ;;  # joined, silent
    churn)       echo "--scenario churn --rooms 200 --room-size 5 --players 2 --rate 50 --churn-rate 200 --duration 10" ;;
    chat)        echo "--scenario chat --room-size 64 --players 8 --rate 100 --chat-rate 5 --duration 10" ;;
    concert)     echo "--scenario concert --room-size 501 --players 1 --rate 50 --duration 10" ;;  # 25k/s, one sender
    *) return 1 ;;
  esac
}

# Server flags a scenario needs beyond server_flags.
scenario_server_flags() {
  case "$1" in
    idle-rooms) echo "--idle-timeout-ms 600000" ;;  # members never speak; a setup of 19,000 can outlast 60 s
    concert) echo "--max-users-per-room 501" ;;     # 1 performer + 500 listeners
  esac
}

# The port of the tutti-server whose output goes to the file $1, once it says it listens
# (at most 10 s); nothing when it never does.
server_port() {
  local port=
  for _ in $(seq 1 100); do
    port=$(grep -so 'listening on ws://127.0.0.1:[0-9]*' "$1" | sed 's/.*://' || true)
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  echo "$port"
}
