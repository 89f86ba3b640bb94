#!/usr/bin/env bash
# Syncing a run's points to a tracking server, side by side in one run:
# `runlog sync` of a local store, and a training loop logging through an
# http:// tracking URI (examples/train_loop: the spool and its background sync;
# the time until the server acknowledged every point, and the cost of a
# log call), against MLflow's own Python client sending the same points
# with `MlflowClient.log_batch` (1,000 a call, as MLflow's limit allows)
# and logging them one `mlflow.log_metric` call at a time, each to
# `runlog server` and to `mlflow server` 3.17.2 over SQLite, on this
# machine. Not part of CI; it uses the venv of
# benches/server_compare.sh (benches/mlflow-venv, made when missing).
#
#   benches/sync_compare.sh [POINTS_TO_RUNLOG] [POINTS_TO_MLFLOW]
set -euo pipefail
cd "$(dirname "$0")/.."
big=${1:-1000000}
small=${2:-40000}
venv=benches/mlflow-venv
if ! "$venv/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '3.17.2')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet mlflow==3.17.2
fi
cargo build --release --quiet --bin runlog --example train_loop
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
wait_up() { until curl -sf "$1/health" >/dev/null 2>&1; do sleep 0.05; done; }
now() { python3 -c 'import time; print(time.time())'; }

start_runlog() {
  ./target/release/runlog --tracking-uri "$work/runlog-server-$1" server --port 5311 >/dev/null 2>&1 &
  pids+=($!)
  wait_up http://127.0.0.1:5311
}
# MLflow's server keeps working for seconds after /health first answers
# (its other processes start): measured only once it has settled, and
# never while a runlog measurement runs.
start_mlflow() {
  # In a session of its own, stopped as a group: its workers and job
  # runner outlive a kill of the parent alone.
  (cd "$work" && exec setsid "$OLDPWD/$venv/bin/python" -m mlflow server --host 127.0.0.1 --port 5312 \
    --workers 1 --backend-store-uri "sqlite:///$work/mlflow-$1.db" \
    --artifacts-destination "$work/artifacts-$1" >/dev/null 2>&1) &
  pids+=(-$!)
  wait_up http://127.0.0.1:5312
  sleep 10
}
stop_servers() { for p in "${pids[@]}"; do kill -- "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }

# The local stores: one run, 2 keys, compacted.
./target/release/examples/train_loop --steps $((big / 2)) --keys 2 --tracking-uri "$work/big" >/dev/null
./target/release/examples/train_loop --steps $((small / 2)) --keys 2 --tracking-uri "$work/small" >/dev/null
./target/release/runlog --tracking-uri "$work/big" compact >/dev/null
./target/release/runlog --tracking-uri "$work/small" compact >/dev/null

rate() { python3 -c "print(f'{$1 / ($2):,.0f} points/s ({$2:.2f} s for {$1:,} points)')"; }
sync_to() {
  local store=$1 url=$2 n=$3
  local t0; t0=$(now)
  ./target/release/runlog --tracking-uri "$store" sync --to "$url" >/dev/null
  rate "$n" "$(python3 -c "print($(now) - $t0)")"
}
mlflow_client_to() {
  "$venv/bin/python" - "$1" "$2" <<'PY'
import sys, time, mlflow
from mlflow.entities import Metric
url, n = sys.argv[1], int(sys.argv[2])
client = mlflow.MlflowClient(tracking_uri=url)
run = client.create_run("0")
points = [Metric(k, 1.0 / (s + 1), 1_700_000_000_000 + s, s)
          for s in range(n // 2) for k in ("loss", "metric_1")]
t = time.perf_counter()
for i in range(0, len(points), 1000):
    client.log_batch(run.info.run_id, metrics=points[i:i + 1000])
dt = time.perf_counter() - t
print(f"{n / dt:,.0f} points/s ({dt:.2f} s for {n:,} points)")
PY
}

background_sync_to() {
  RUNLOG_SPOOL_DIR="$work/spool" ./target/release/examples/train_loop --steps $(($2 / 2)) --keys 2 \
    --tracking-uri "$1" | python3 -c '
import re, sys
text = sys.stdin.read()
ns = re.search(r"([0-9.]+) ns per log call", text).group(1)
ack = re.search(r"acknowledged by \S+ after ([0-9.]+) s: ([0-9]+) points/s", text)
print(f"{int(ack.group(2)):,} points/s acknowledged ({float(ack.group(1)):.2f} s), {ns} ns per log call")'
}
mlflow_log_metric_to() {
  "$venv/bin/python" - "$1" "$2" <<'PY'
import sys, time, mlflow
url, n = sys.argv[1], int(sys.argv[2])
mlflow.set_tracking_uri(url)
with mlflow.start_run():
    t = time.perf_counter()
    for s in range(n):
        mlflow.log_metric("loss", 1.0 / (s + 1), step=s)
    dt = time.perf_counter() - t
print(f"{n / dt:,.0f} points/s, {dt / n * 1e6:,.0f} us per log call ({n:,} calls)")
PY
}
local_log_calls() {
  ./target/release/examples/train_loop --steps $(($1 / 2)) --keys 2 --tracking-uri "$work/local" |
    grep -o '[0-9.]* ns per log call'
}

echo "runlog local store (train_loop, for comparison): $(local_log_calls "$big")"

start_runlog a
echo "runlog sync      -> runlog server: $(sync_to "$work/big" http://127.0.0.1:5311 "$big")"
stop_servers
start_runlog a2
echo "runlog http:// URI (background sync) -> runlog server: $(background_sync_to http://127.0.0.1:5311 "$big")"
echo "MLflow log_metric -> runlog server: $(mlflow_log_metric_to http://127.0.0.1:5311 2000 2>/dev/null | tail -1)"
stop_servers
start_runlog b
echo "MLflow log_batch -> runlog server: $(mlflow_client_to http://127.0.0.1:5311 "$big")"
stop_servers
start_mlflow a
echo "runlog sync      -> mlflow server: $(sync_to "$work/small" http://127.0.0.1:5312 "$small")"
stop_servers
start_mlflow a2
echo "runlog http:// URI (background sync) -> mlflow server: $(background_sync_to http://127.0.0.1:5312 "$small")"
echo "MLflow log_metric -> mlflow server: $(mlflow_log_metric_to http://127.0.0.1:5312 500 2>/dev/null | tail -1)"
stop_servers
start_mlflow b
echo "MLflow log_batch -> mlflow server: $(mlflow_client_to http://127.0.0.1:5312 "$small")"
