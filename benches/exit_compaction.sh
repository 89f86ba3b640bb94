#!/usr/bin/env bash
# The compaction after exit (README, "Compaction"), measured as a user
# meets it:
#  1. what it costs the exiting process: `runlog-exit-cost` times the fork
#     of the compacting child for a process of 0 to 200 MiB of its own
#     memory (above AFTER_EXIT_MAX_RESIDENT, 256 MiB, no child is forked);
#  2. the README's main job (`train_loop`, 800,000 points) run ROUNDS times
#     with the compaction after exit on and off, alternated: its wall time
#     (median), and `runlog stats` right after it (bytes per point; the
#     time it waits for the child's compaction).
# Not part of CI (BENCHMARKS.md, "Compaction after exit").
#
#   benches/exit_compaction.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
cargo build --release --quiet --example train_loop --bin runlog
cargo build --release --quiet -p runlog-benches --bin runlog-exit-cost
for mib in 0 64 128 200; do
  ./target/release/runlog-exit-cost --rss-mib "$mib" --rounds "$rounds"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
for round in $(seq "$rounds"); do
  for mode in on off; do
    store="$work/$mode-$round"
    value=1
    [ "$mode" = off ] && value=0
    t0=$(now)
    RUNLOG_COMPACT_AT_EXIT=$value ./target/release/examples/train_loop \
      --tracking-uri "$store" >/dev/null
    t1=$(now)
    per_point=$(./target/release/runlog stats --json --tracking-uri "$store" 2>/dev/null |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_per_point"])')
    t2=$(now)
    echo "$mode $(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $per_point" >> "$work/runs"
  done
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for mode in on off; do
  wall=$(grep "^$mode " "$work/runs" | awk '{ print $2 * 1000 }' | median)
  stats=$(grep "^$mode " "$work/runs" | awk '{ print $3 * 1000 }' | median)
  per_point=$(grep "^$mode " "$work/runs" | awk '{ print $4 }' | median)
  echo "main job, compaction after exit $mode: wall $wall ms, runlog stats right after $stats ms (medians of $rounds), $per_point bytes per point"
done
