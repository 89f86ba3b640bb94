#!/usr/bin/env bash
# What the server's request path costs, build against build: log-batch
# (1,000 points a request) and log-metric through `runlog-loadgen` (16
# keep-alive connections, 5 s each): throughput in a closed loop, and
# log-batch's latency at 1,000 and 2,000 requests a second offered on a
# schedule. Rounds alternate between the binaries given (e.g. one built
# from an older commit), so that this noisy machine's drift falls on both
# alike.
# Not part of CI.
#
#   benches/request_path.sh OLD_RUNLOG NEW_RUNLOG [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p runlog-benches --bin runlog-loadgen
rounds=${3:-3}
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
old=$1 new=$2
for round in $(seq 1 "$rounds"); do
  for bin in "$old" "$new"; do
    rm -rf "$work/store"
    "$bin" --tracking-uri "$work/store" server --port 0 > "$work/out" 2>/dev/null &
    server=$!
    until grep -q listening "$work/out" 2>/dev/null; do sleep 0.05; done
    url=$(grep -o 'http://[0-9.:]*' "$work/out")
    for load in "log-batch 0" "log-batch 1000" "log-batch 2000" "log-metric 0"; do
      set -- $load
      line=$(target/release/runlog-loadgen --url "$url" --op "$1" --connections 16 --rate "$2" --seconds 5 | tail -1)
      echo "round $round  $bin  $line"
    done
    kill "$server"; wait "$server" 2>/dev/null || true
    server=""
  done
done
