#!/usr/bin/env bash
# Many processes logging into one store at once (a sweep's workers, a job's
# ranks): PROCESSES copies of examples/train_loop.rs (STEPS x KEYS points
# each) started together; prints the wall time, each process's mean user and
# system CPU and elapsed time, and the largest RSS of any of them.
# Not part of CI (BENCHMARKS.md, "Read path").
#
#   benches/multi_process.sh [PROCESSES] [STEPS] [KEYS] [TRAIN_LOOP_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-8}
steps=${2:-500000}
keys=${3:-2}
bin=${4:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet --example train_loop
  bin=./target/release/examples/train_loop
fi
work=$(mktemp -d)
# A process's exit hands the store to a compaction child that holds
# compact/LOCK from before the exit: wait for it before removing the store.
trap 'if [ -e "$work/store/compact/LOCK" ]; then flock "$work/store/compact/LOCK" true; fi; rm -rf "$work"' EXIT
"$bin" --steps 1 --keys 1 --tracking-uri "$work/store" >/dev/null
start=$(date +%s.%N)
for _ in $(seq "$n"); do
  /usr/bin/time -f "%e %U %S %M" -a -o "$work/times" \
    "$bin" --steps "$steps" --keys "$keys" --tracking-uri "$work/store" >/dev/null &
done
wait
end=$(date +%s.%N)
awk -v wall="$(echo "$end - $start" | bc)" -v n="$n" '
  { e += $1; u += $2; s += $3; if ($4 > m) m = $4 }
  END { printf "%d processes: wall %.2f s; per process: elapsed %.2f s, user %.2f s, sys %.2f s; max RSS %d MB\n", n, wall, e/NR, u/NR, s/NR, m/1024 }
' "$work/times"
