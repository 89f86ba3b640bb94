#!/usr/bin/env bash
# runlog server and mlflow server (SQLite backend) side by side, on this
# machine, in one run: startup time, server capacity under the load
# generator (benches/loadgen.rs: raw keep-alive HTTP, prebuilt bodies), and
# what MLflow's unchanged Python client sees (benches/server_client.py),
# with a do-nothing server as the client's own ceiling.
# Not part of CI: it installs mlflow==3.17.2 into benches/mlflow-venv (a few
# minutes the first time).
#
#   benches/server_compare.sh [SECONDS_PER_LOAD] [runlog-only]
#
# With `runlog-only`, only runlog server and its loads (no mlflow, no
# Python): to compare two builds of runlog back to back.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
only=${2:-}
venv=benches/mlflow-venv
pin=mlflow==3.17.2
if [ "$only" != runlog-only ] && ! "$venv/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '3.17.2')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$pin"
fi
cargo build --release --quiet --bin runlog
cargo build --release --quiet -p runlog-benches --bin runlog-loadgen
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Seconds from start until GET /health answers 200.
wait_health() {
  local url=$1 start=$2
  until curl -sf "$url/health" >/dev/null 2>&1; do sleep 0.005; done
  python3 -c "import time; print(f'{time.time() - $start:.3f}')"
}

start=$(python3 -c 'import time; print(time.time())')
./target/release/runlog --tracking-uri "$work/runlog" server --port 5301 >/dev/null 2>&1 &
pids+=($!)
echo "startup  runlog server: $(wait_health http://127.0.0.1:5301 "$start") s"
if [ "$only" != runlog-only ]; then
  start=$(python3 -c 'import time; print(time.time())')
  "$venv/bin/mlflow" server --backend-store-uri "sqlite:///$work/mlflow.db" \
    --artifacts-destination "$work/mlflow-artifacts" --port 5302 >"$work/mlflow.log" 2>&1 &
  pids+=($!)
  echo "startup  mlflow server: $(wait_health http://127.0.0.1:5302 "$start") s"
fi
./target/release/runlog-loadgen --op null-server --port 5303 >/dev/null &
pids+=($!)
sleep 0.2

echo "server capacity (benches/loadgen.rs, ${secs} s each):"
for spec in "log-batch 16" "log-batch 1" "log-metric 16" "get-history 4" "search 4"; do
  set -- $spec
  ./target/release/runlog-loadgen --url http://127.0.0.1:5301 --op "$1" --connections "$2" --seconds "$secs" --label runlog
  if [ "$only" != runlog-only ]; then
    ./target/release/runlog-loadgen --url http://127.0.0.1:5302 --op "$1" --connections "$2" --seconds "$secs" --label mlflow
  fi
done
# Latency at a load offered on a schedule (counted from when each request
# was due), below capacity: runlog only, as mlflow server's capacity for
# this load is a few requests a second.
echo "log-batch latency at an offered rate (16 connections, ${secs} s each):"
for rate in 500 1000 1500 2000; do
  ./target/release/runlog-loadgen --url http://127.0.0.1:5301 --op log-batch --connections 16 --rate "$rate" --seconds "$secs" --label runlog
done

[ "$only" = runlog-only ] && exit 0
echo "through MLflow's Python client (benches/server_client.py):"
for target in "null-server 5303" "runlog 5301" "mlflow 5302"; do
  set -- $target
  MLFLOW_TRACKING_URI=http://127.0.0.1:$2 "$venv/bin/python" benches/server_client.py "$1" 2>/dev/null
done
