#!/usr/bin/env bash
# Registry webhooks, side by side in one run: `runlog server` and
# `mlflow server` 3.17.2 (SQLite), each with a loopback receiver allowed
# (MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS). For each server, N
# `model-versions/set-tag` requests are timed with no webhook, then with a
# webhook listening to `model_version_tag.set` (what a webhook adds to a
# registry request), and the time until the receiver holds all N
# deliveries is taken (how fast they go out). Not part of CI; it uses the
# venv of benches/server_compare.sh (benches/mlflow-venv, made when
# missing; MLFLOW_VENV names another).
#
#   benches/webhooks.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
venv=${MLFLOW_VENV:-benches/mlflow-venv}
if ! "$venv/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '3.17.2')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet mlflow==3.17.2 scikit-learn
fi
cargo build --release --quiet --bin runlog
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
wait_up() { until curl -sf "$1/health" >/dev/null 2>&1; do sleep 0.05; done; }

# mlflow server keeps its list of webhooks for MLFLOW_WEBHOOK_CACHE_TTL
# (60 s) even after its own changes, so that a webhook made after requests
# for its event hears nothing for a minute: 1 s here, and webhooks.py waits
# it out (runlog forgets its copy at every change made through it).
export MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https
export MLFLOW_WEBHOOK_CACHE_TTL=1
./target/release/runlog --tracking-uri "$work/runlog" server --port 5331 >/dev/null 2>&1 &
pids+=($!)
(cd "$work" && exec setsid "$OLDPWD/$venv/bin/python" -m mlflow server --host 127.0.0.1 --port 5332 \
  --workers 1 --backend-store-uri "sqlite:///$work/mlflow.db" \
  --artifacts-destination "$work/artifacts" >/dev/null 2>&1) &
pids+=(-$!)
wait_up http://127.0.0.1:5331
wait_up http://127.0.0.1:5332
sleep 10 # mlflow server's start-up work settles

echo "== $n model-versions/set-tag requests, one client (median / p99 per request)"
for server in runlog:5331 mlflow:5332; do
  "$venv/bin/python" benches/webhooks.py "${server%%:*}" "http://127.0.0.1:${server##*:}" "$n"
done
