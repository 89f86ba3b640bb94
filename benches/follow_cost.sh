#!/usr/bin/env bash
# What open dashboard event streams (`runlog/follow`) cost the server when
# nothing is logged: the server's CPU time over 10 s with 0, 1, 10 and 100
# streams open, each following 8 runs x 100 keys (curl as the clients).
# Give one or more `runlog` binaries to compare builds in one run (e.g.
# one built from an older commit); default: this checkout's release build.
# The first 20 s (FOLLOW_WARMUP) are not measured: each stream first reads
# its 800 series once. Not part of CI.
#
#   benches/follow_cost.sh [RUNLOG_BINARY ...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  cargo build --release --quiet --bin runlog
  set -- target/release/runlog
fi
seconds=${FOLLOW_SECONDS:-10}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# The store: 8 runs x 100 keys, one point each, logged through a server.
"$1" --tracking-uri "$work/store" server --port 0 > "$work/out" 2>/dev/null &
seed=$!
until grep -q listening "$work/out" 2>/dev/null; do sleep 0.05; done
url=$(grep -o 'http://[0-9.:]*' "$work/out")
keys=""
runs=""
for r in $(seq 1 8); do
  id=$(curl -s -H 'Content-Type: application/json' -d '{"experiment_id":"0"}' \
    "$url/api/2.0/mlflow/runs/create" | python3 -c 'import json,sys; print(json.load(sys.stdin)["run"]["info"]["run_id"])')
  runs="$runs&run_ids=$id"
  metrics=$(python3 -c 'import json; print(json.dumps([{"key": f"k{k}", "value": 1.0, "timestamp": 1, "step": 0} for k in range(100)]))')
  curl -s -H 'Content-Type: application/json' -d "{\"run_id\":\"$id\",\"metrics\":$metrics}" \
    "$url/api/2.0/mlflow/runs/log-batch" > /dev/null
done
for k in $(seq 0 99); do keys="$keys&keys=k$k"; done
kill "$seed"; wait "$seed" 2>/dev/null || true

printf '%-40s %8s %14s\n' binary streams "cpu % of a core"
for bin in "$@"; do
  for n in 0 1 10 100; do
    cp -r "$work/store" "$work/s"
    "$bin" --tracking-uri "$work/s" server --port 0 > "$work/out2" 2>/dev/null &
    server=$!
    pids+=("$server")
    until grep -q listening "$work/out2" 2>/dev/null; do sleep 0.05; done
    url=$(grep -o 'http://[0-9.:]*' "$work/out2")
    streams=()
    for _ in $(seq 1 "$n"); do
      curl -sN "$url/ajax-api/2.0/runlog/follow?after=0${runs}${keys}" > /dev/null &
      streams+=($!)
    done
    sleep "${FOLLOW_WARMUP:-20}"
    before=$(ticks "$server")
    sleep "$seconds"
    after=$(ticks "$server")
    for s in "${streams[@]}"; do kill "$s" 2>/dev/null || true; done
    kill "$server"; wait "$server" 2>/dev/null || true
    rm -rf "$work/s"
    pct=$(python3 -c "print(f'{($after - $before) / $hz / $seconds * 100:.1f}')")
    printf '%-40s %8s %14s\n' "$bin" "$n" "$pct"
  done
done
