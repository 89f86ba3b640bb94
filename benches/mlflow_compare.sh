#!/usr/bin/env bash
# Side by side: MLflow's Python client (file store and SQLite) and runlog on
# the same per-step workload. Not part of CI: it installs MLflow from PyPI
# into benches/mlflow-venv (a few minutes the first time).
#
#   benches/mlflow_compare.sh [STEPS] [KEYS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-1000}
keys=${2:-4}
venv=benches/mlflow-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mlflow" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet mlflow
fi
# MLflow 3.7+ refuses its own file store unless asked for it.
MLFLOW_ALLOW_FILE_STORE=true "$venv/bin/python" benches/mlflow_compare.py --backend file --steps "$steps" --keys "$keys"
"$venv/bin/python" benches/mlflow_compare.py --backend sqlite --steps "$steps" --keys "$keys"

store=$(mktemp -d)
cargo build --release --quiet --example train_loop
echo "runlog (examples/train_loop, same workload, default options):"
./target/release/examples/train_loop --steps "$steps" --keys "$keys" --tracking-uri "$store/mlruns" | sed 's/^/  /'
echo "runlog per-call latency in a paced loop: see 'cargo bench --bench ingest' (percentile line and log_call/handle_paced)"
echo "runlog with MLflow's call shapes (fluent log_metric, Client::log_metric by run id): 'cargo bench --bench tracking'"
rm -rf "$store"
