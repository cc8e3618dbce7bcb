#!/usr/bin/env bash
# Checks the include rules of the source tree (docs/ARCHITECTURE.md, "Include rules"):
#  1. server/ has no include cycle between modules. A module is a header and its .cc
#     (server/room.h + server/room.cc), plus the extra .cc files listed in MODULE_OF
#     below (server/handlers_rooms.cc is part of the Dispatcher). shard.cc including
#     dispatcher.h while dispatcher.cc includes shard.h is a cycle, although no header
#     includes itself.
#  2. websocketpp, sqlite3 and libpq are included only by the files allowed below.
# Prints every violation and exits 1 if there is one; run by CTest (server.IncludeRules).
#
#   tools/check_includes.sh [SOURCE_ROOT]
#
# The lists below are meant to be edited: when a file stops needing websocketpp, take it
# off the list so that it cannot start again; when a tolerated edge is gone, delete it.
set -euo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# Extra .cc files and the module they belong to (glob on the path -> module).
MODULE_OF=(
  'server/handlers_*.cc=server/dispatcher'
  'server/room_commands.cc=server/room'
  'server/room_music.cc=server/room'
  'server/room_resume.cc=server/room'
  'server/shard_resume.cc=server/shard'
  'server/room_recording.cc=server/room'
  'server/social_friends.cc=server/social'
  # The Redis engine's private parts: its Primary struct and its resume-state half.
  'server/redis/redis_primary.h=server/redis/redis_broker'
  'server/redis/redis_resume.cc=server/redis/redis_broker'
)

# Module edges tolerated for now ("from -> to"), each with who removes it. Keep short.
TOLERATED_EDGES=(
)

# Files allowed to include websocketpp headers (extended regular expressions).
WEBSOCKETPP_ALLOWED=(
  '^server/endpoint\.cc$'
  '^server/ws_[a-z_]+\.h$'
  '^tools/client/client\.cc$'
  '^bench/hotpaths/ws_send_bench\.cc$'
  '^bench/hotpaths/loadgen_ws_bench\.cc$'
)
# Files allowed to include sqlite3.h.
# Only the store's .cc files and its private connection header: store.h and records.h
# are what rooms and Social see, and stay free of SQLite.
SQLITE_ALLOWED=(
  '^server/store/[a-z_]+\.cc$'
  '^server/store/sqlite_db\.h$'
)
# Files allowed to include libpq-fe.h (PostgreSQL): the same boundary as SQLite's.
LIBPQ_ALLOWED=(
  '^server/store/[a-z_]+\.cc$'
  '^server/store/pg_db\.h$'
)
# Where rule 2 looks (tests may include what they test).
SCANNED_DIRS=(server crypto midi tools bench)

failures=0
fail() {
  echo "check_includes: $*" >&2
  failures=$((failures + 1))
}

module_of() {
  local file=$1 entry pattern
  for entry in "${MODULE_OF[@]}"; do
    pattern=${entry%%=*}
    # shellcheck disable=SC2053  # the pattern is a glob on purpose
    if [[ $file == $pattern ]]; then
      echo "${entry#*=}"
      return
    fi
  done
  echo "${file%.*}"
}

matches_any() {
  local file=$1
  shift
  local re
  for re in "$@"; do
    if [[ $file =~ $re ]]; then return 0; fi
  done
  return 1
}

# --- rule 1: no module cycle in server/ -------------------------------------------------
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
while IFS= read -r file; do
  from=$(module_of "$file")
  while IFS= read -r header; do
    [[ -z $header ]] && continue
    to=$(module_of "$header")
    [[ $to == "$from" ]] && continue
    tolerated=0
    for edge in "${TOLERATED_EDGES[@]}"; do
      [[ $edge == "$from -> $to" ]] && tolerated=1
    done
    ((tolerated)) && continue
    echo "$from $to" >>"$edges"
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\(server\/[^"]*\)".*/\1/p' "$file")
done < <(find server -name '*.h' -o -name '*.cc' | sort)

if ! sort -u "$edges" | tsort >/dev/null 2>"$edges.err"; then
  fail "include cycle among server/ modules (tsort says):"
  sed 's/^/  /' "$edges.err" >&2
  # Name the two-module cycles outright: they are the usual kind.
  while read -r a b; do
    if grep -qx "$b $a" "$edges"; then
      [[ $a < $b ]] && echo "  $a <-> $b" >&2
    fi
  done < <(sort -u "$edges")
fi
rm -f "$edges.err"

# --- rule 2: transport and database headers stay where they belong ----------------------
while IFS= read -r file; do
  if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]websocketpp/' "$file"; then
    matches_any "$file" "${WEBSOCKETPP_ALLOWED[@]}" || fail "$file includes websocketpp"
  fi
  if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]sqlite3\.h[>"]' "$file"; then
    matches_any "$file" "${SQLITE_ALLOWED[@]}" || fail "$file includes sqlite3.h"
  fi
  if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](postgresql/)?libpq-fe\.h[>"]' "$file"; then
    matches_any "$file" "${LIBPQ_ALLOWED[@]}" || fail "$file includes libpq-fe.h"
  fi
done < <(for dir in "${SCANNED_DIRS[@]}"; do
  [[ -d $dir ]] && find "$dir" \( -name '*.h' -o -name '*.cc' -o -name '*.cpp' \) \
    -not -path '*/node_modules/*'
done | sort)

if ((failures > 0)); then
  echo "check_includes: $failures problem(s); see docs/ARCHITECTURE.md, \"Include rules\"" >&2
  exit 1
fi
echo "check_includes: server/ module graph acyclic; websocketpp, sqlite3 and libpq where allowed"
