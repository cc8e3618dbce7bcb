#!/usr/bin/env bash
# A/B of two builds of tutti_hotpaths_bench in one session: runs A and B alternately
# (A, B, A, B, ...) so that both see the same machine load, then prints per benchmark
# the median CPU time of each and the median of the per-pair ratios B/A (a Markdown
# table, as docs/PERFORMANCE.md quotes it). On a shared machine only the ratios mean
# anything.
# A or B may be a bench binary or rev:REVISION: the bench of that git revision, built
# here from `git archive` into build-ab/REVISION (RelWithDebInfo, bench target only;
# ccache makes the files that A and B share cheap).
# Bounded: --pairs runs of each binary (default 5), each with the filter and min time
# given; nothing else is started.
# usage: bench/hotpaths_ab.sh A B [--filter REGEX] [--pairs N] [--min-time S] [--out DIR]
#   e.g. bench/hotpaths_ab.sh rev:cd740bf build/bench/hotpaths/tutti_hotpaths_bench
set -euo pipefail
usage="usage: bench/hotpaths_ab.sh A_BENCH|rev:REV B_BENCH|rev:REV [--filter REGEX] [--pairs N] [--min-time S] [--out DIR]"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
a_arg=${1:?$usage}
b_arg=${2:?$usage}
shift 2
filter='RoomFanoutMidiSessions'
pairs=5
min_time=0.2
out=$(mktemp -d)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --filter) filter=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --min-time) min_time=$2; shift 2 ;;
    --out) out=$2; mkdir -p "$out"; shift 2 ;;
    *) echo "unknown argument $1" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done
[[ $pairs =~ ^[0-9]+$ && $pairs -ge 1 && $pairs -le 50 ]] || { echo "--pairs: 1 to 50" >&2; exit 2; }

# Resolves one side to a binary path, building rev:REV first (logs in build-ab/REV.log).
resolve() {
  local arg=$1
  if [[ $arg != rev:* ]]; then
    [[ -x $arg ]] || { echo "$arg: not an executable" >&2; return 1; }
    echo "$arg"
    return
  fi
  local rev
  rev=$(git -C "$root" rev-parse --short "${arg#rev:}^{commit}")
  # The tree in build-ab/REV and its build in build-ab/REV/build, as a checkout and its
  # build/ are laid out: with CCACHE_BASEDIR the unchanged files are cache hits.
  local src="$root/build-ab/$rev" bld="$root/build-ab/$rev/build"
  local log="$root/build-ab/$rev.log"
  if [[ ! -x $bld/bench/hotpaths/tutti_hotpaths_bench ]]; then
    # Extracted over what is there: an interrupted build resumes.
    mkdir -p "$src"
    git -C "$root" archive "$rev" | tar -x -C "$src"
    echo "building the bench of $rev (log: build-ab/$rev.log)" >&2
    (
      export CCACHE_BASEDIR=$src CCACHE_NOHASHDIR=1
      cmake -S "$src" -B "$bld" -G Ninja -DTUTTI_TEST_DIRS= -DCMAKE_BUILD_TYPE=RelWithDebInfo
      nice cmake --build "$bld" -j2 --target tutti_hotpaths_bench
    ) >"$log" 2>&1 || { echo "build of $rev failed; see build-ab/$rev.log" >&2; return 1; }
  fi
  echo "$bld/bench/hotpaths/tutti_hotpaths_bench"
}
a_bin=$(resolve "$a_arg")
b_bin=$(resolve "$b_arg")

for ((i = 1; i <= pairs; i++)); do
  for side in a b; do
    bin=$a_bin
    [[ $side == b ]] && bin=$b_bin
    "$bin" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
      --benchmark_format=json >"$out/$side$i.json" 2>"$out/$side$i.err" ||
      { echo "run $side$i failed:" >&2; cat "$out/$side$i.err" >&2; exit 1; }
  done
done
python3 - "$out" "$pairs" <<'PY'
import json, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
def load(path):
    with open(path) as f:
        return {b["name"]: b["cpu_time"] for b in json.load(f)["benchmarks"]
                if b.get("run_type", "iteration") == "iteration"}
runs = [(load(f"{out}/a{i}.json"), load(f"{out}/b{i}.json")) for i in range(1, pairs + 1)]
names = [n for n in runs[0][0] if all(n in a and n in b for a, b in runs)]
if not names:
    sys.exit("no benchmark ran in both A and B; check --filter")
print("| benchmark | A (median ns) | B (median ns) | B / A (median of pairs) | range |")
print("| --- | --- | --- | --- | --- |")
for name in names:
    a = [r[0][name] for r in runs]
    b = [r[1][name] for r in runs]
    ratios = [y / x for x, y in zip(a, b)]
    print(f"| `{name}` | {statistics.median(a):.0f} | {statistics.median(b):.0f} | "
          f"{statistics.median(ratios):.2f} | {min(ratios):.2f}-{max(ratios):.2f} |")
PY
echo "raw runs: $out" >&2
